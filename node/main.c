/* upledgerd: the consortium node daemon. Serves the query endpoint, executes submitted
 * transactions into blocks, and commits them; --dev runs the embedded single-validator chain. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "io.h"
#include "node.h"
#include "schema/ul_version.h"

/* No empty blocks by default: blocks are made only when transactions wait, and devices get fresh
 * heads from checkpoints (docs/protocol.md section 7.4). --heartbeat-ms brings them back. */
#define DEFAULT_HEARTBEAT_MS 0
#define DEFAULT_CHECKPOINT_MS 60000
#define MIN_CHECKPOINT_MS 10
#define MAX_CHECKPOINT_MS (24 * 3600 * 1000)
#define DEFAULT_ROUND_TIMEOUT_MS 1000
#define MIN_ROUND_TIMEOUT_MS 20
#define MAX_ROUND_TIMEOUT_MS (600 * 1000)
#define REQUESTS_PER_TURN                                                                          \
    64 /* queries served before consensus gets its turn (or UL_NODE_TURN_MS) */
#define MAX_HEARTBEAT_MS (3600 * 1000)
/* The project's version (the Makefile's pkg-config Version). */

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void on_hup(int sig)
{
    (void)sig;
    ul_nlog_hup();
}

#define logf_ ul_node_log

typedef struct {
    char data[3900]; /* room for "/validator.key" within the 4096 of key paths */
    char listen[512];
    char genesis[4096];
    char key[4096];
    bool dev;
    bool verbose;
    bool reset_sign_state;
    bool log_json;       /* --log-format json */
    char log_file[4096]; /* --log-file: "" for stderr */
    ul_node_cfg net;
} options;

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
        "FILE}\n"
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

static bool load_peers(options *o, const json_t *arr)
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

/* --log-format (format) or --log-file's value v. Returns false on a bad value (said). */
static bool take_log_opt(options *o, bool format, const char *v)
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

static bool load_config(options *o, const char *path)
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
    OPT_LOG_FILE
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
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

/* One option (getopt_long's code c, its value v). Returns false on a bad value (said). */
static bool take_opt(options *o, int c, const char *v, char *listen, size_t lcap, long *hb)
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

static bool parse_args(options *o, int argc, char **argv)
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

/* Reads a whole regular file of at most max bytes (never a FIFO or device: it could block).
 * Out: *why, the cause in words, on failure. */
static ul_err read_file(const char *path, uint8_t **out, size_t *len, size_t max, const char **why)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0 || fstat(fd, &st) != 0) {
        *why = strerror(errno);
        if (fd >= 0) {
            close(fd);
        }
        return UL_E_IO;
    }
    ul_err e = UL_OK;
    uint8_t *buf = NULL;
    ssize_t n = 0;
    if (!S_ISREG(st.st_mode)) {
        *why = "not a regular file", e = UL_E_IO;
    } else if ((uint64_t)st.st_size > max) {
        *why = "larger than a genesis can be", e = UL_E_LIMIT;
    } else if (!(buf = malloc((size_t)st.st_size + 1))) {
        *why = strerror(ENOMEM), e = UL_E_NOMEM;
    } else if ((n = read(fd, buf, (size_t)st.st_size + 1)) < 0 || n != st.st_size) {
        *why = n < 0 ? strerror(errno) : "changed while read", e = UL_E_IO;
    }
    close(fd);
    if (e != UL_OK) {
        free(buf);
        return e;
    }
    *out = buf;
    *len = (size_t)n;
    return UL_OK;
}

/* First start of a dev chain: a validator key (unencrypted, dev only) and a one-validator
 * genesis. Later starts reuse both. */
static ul_err dev_setup(options *o)
{
    if (mkdir(o->data, 0700) != 0 && errno != EEXIST) {
        return UL_E_IO;
    }
    struct stat st;
    if (stat(o->genesis, &st) == 0) {
        return UL_OK;
    }
    ul_key *k = NULL;
    ul_err e = ul_key_generate(&k);
    ul_sign_state fresh = {0}; /* a new key has signed nothing (and an old one is not replaced) */
    if (e == UL_OK && (e = ul_key_save(k, o->key, NULL)) == UL_OK) {
        logf_("dev chain: created %s (UNENCRYPTED: for a dev chain only)", o->key);
        memcpy(fresh.pubkey, ul_key_pubkey(k), UL_PUBKEY_BYTES);
        e = ul_signstate_save(o->net.sign_state, &fresh);
    }
    if (e != UL_OK) {
        ul_key_destroy(k);
        return e;
    }
    ul_genesis g = {.version = 1,
                    .name = ul_span_str("upledger-dev"),
                    .time_ms = ul_node_now_ms(),
                    .validators = {.n = 1}};
    memcpy(g.validators.v[0].pubkey, ul_key_pubkey(k), UL_PUBKEY_BYTES);
    g.validators.v[0].power = 1;
    ul_key_destroy(k);
    uint8_t buf[UL_MAX_VALSET_BYTES + 256];
    size_t len;
    if ((e = ul_schema_genesis_encode(buf, sizeof buf, &len, &g)) != UL_OK) {
        return e;
    }
    return ul_file_write_new(o->genesis, buf, len, 0644);
}

/* Damage found in the store: the node serves none of it and says how to repair it. */
static void log_damage(const char *db, const char *text)
{
    ul_node_logl(UL_LOG_ERROR, "store %s is damaged: %s", db,
                 text[0] ? text : ul_err_str(UL_E_CORRUPT));
    ul_node_logl(
        UL_LOG_ERROR,
        "refusing to serve a damaged store (UL_E_CORRUPT). To repair: stop this node, move %s "
        "aside and restart it: it syncs every block again from its peers (a node without peers: "
        "restore %s from a backup or a copy from a peer)",
        db, db);
}

/* Opens the chain in db and reads every stored block once (checksums verified): a node does not
 * start on damaged data. */
static ul_err open_chain(ul_node *n, const char *db, const uint8_t *genesis, size_t glen)
{
    uint64_t entries = 0;
    ul_err e = n->io->chain_open(n->io->ctx, &n->chain, db, genesis, glen);
    if (e == UL_OK && (e = ul_store_verify(ul_chain_store(n->chain), &entries)) != UL_OK) {
        const char *text;
        (void)ul_store_fault(ul_chain_store(n->chain), &text);
        log_damage(db, text);
    } else if (e == UL_E_CORRUPT) {
        log_damage(db, ul_store_last_error());
    } else if (e != UL_OK) {
        const char *text = ul_store_last_error();
        logf_("opening %s: %s%s%s", db, ul_err_str(e), text[0] ? ": " : "", text);
    }
    return e;
}

/* The key, genesis (--dev) and sign state paths. */
static bool set_paths(options *o)
{
    if (o->dev) {
        snprintf(o->key, sizeof o->key, "%s/validator.key", o->data);
        snprintf(o->genesis, sizeof o->genesis, "%s/genesis.cbor", o->data);
    }
    if (o->key[0] &&
        ul_signstate_path(o->net.sign_state, sizeof o->net.sign_state, o->key) != UL_OK) {
        logf_("key path %s is too long", o->key);
        return false;
    }
    return true;
}

static ul_err load_key(ul_key **k, const char *path)
{
    const char *pass = getenv("UPLEDGER_PASSPHRASE");
    errno = 0;
    ul_err e = ul_key_load(k, path, ul_key_file_encrypted(path) ? pass : NULL);
    if (e != UL_OK) { /* an I/O error names its cause (errno from the failed call) */
        char why[256] = "";
        if (e == UL_E_KEY_PERMS) {
            ul_key_perms_msg(why, sizeof why, path);
        }
        logf_("validator key %s: %s%s%s (%s)", path, why, why[0] ? ": " : "",
              e == UL_E_IO && errno ? strerror(errno) : ul_err_str(e), ul_err_name(e));
    }
    return e;
}

/* --reset-sign-state: this key may sign at any height again. Only its operator knows it can. */
static int reset_sign_state(const options *o)
{
    ul_key *k = NULL;
    if (o->net.observer || !o->key[0]) {
        logf_("--reset-sign-state: an observer has no validator key");
        return 2;
    }
    ul_err e = load_key(&k, o->key);
    if (e != UL_OK) {
        return 1;
    }
    ul_sign_state st = {0};
    memcpy(st.pubkey, ul_key_pubkey(k), UL_PUBKEY_BYTES);
    ul_key_destroy(k);
    if ((e = ul_signstate_save(o->net.sign_state, &st)) != UL_OK) {
        logf_("writing %s: %s", o->net.sign_state, ul_err_str(e));
        return 1;
    }
    logf_("sign state %s reset: this key signs at any height again", o->net.sign_state);
    return 0;
}

/* The peer transport of a node with peers, bound before the database is opened: a node that
 * cannot bind writes nothing. Its chain id is the SHA-256 of the genesis bytes (ul_chain_id). */
static ul_err open_peer(ul_peer **out, const ul_node_cfg *c, const ul_key *key,
                        const uint8_t *genesis, size_t glen)
{
    const char *peers[UL_MAX_PEERS];
    uint8_t id[UL_HASH_BYTES];
    *out = NULL;
    if (!c->p2p[0] && !(c->n_peers && !c->observer)) {
        return UL_OK;
    }
    for (size_t i = 0; i < c->n_peers; i++) {
        peers[i] = c->peer_p2p[i];
    }
    ul_client_sha256(id, genesis, glen);
    ul_err e = ul_peer_open(out, id, c->observer ? NULL : key, c->p2p[0] ? c->p2p : NULL, peers,
                            c->n_peers);
    if (e != UL_OK) {
        ul_node_logl(UL_LOG_ERROR, "cannot listen on p2p endpoint %s: %s", c->p2p,
                     e == UL_E_EXISTS ? "address already in use" : ul_err_str(e));
    }
    return e;
}

static ul_err open_node(ul_node *n, ul_node_io **io, options *o)
{
    uint8_t *genesis = NULL;
    size_t glen;
    char db[4200];
    ul_peer *peer = NULL;
    ul_err e = UL_OK;
    if (!o->net.observer && (e = load_key(&n->key, o->key)) != UL_OK) {
        return e;
    }
    const char *why = "";
    if ((e = read_file(o->genesis, &genesis, &glen, UL_MAX_VALSET_BYTES + 1024, &why)) != UL_OK) {
        logf_("genesis %s: %s (%s)", o->genesis, why, ul_err_name(e));
        return e;
    }
    snprintf(db, sizeof db, "%s/db", o->data);
    if ((e = open_peer(&peer, &o->net, n->key, genesis, glen)) == UL_OK) {
        e = ul_node_io_open(io, peer, &o->net); /* takes peer in any case */
    }
    if (e == UL_OK) {
        n->io = *io;
        e = open_chain(n, db, genesis, glen);
    }
    free(genesis);
    if (e != UL_OK) {
        return e;
    }
    if (n->key && !o->net.n_peers) {
        /* A lone node whose key is in neither the genesis set nor the current one is a
         * configuration mistake; with peers it may be named by a set change it has yet to sync. */
        const ul_valset *sets[2] = {ul_chain_valset(n->chain),
                                    &ul_chain_genesis(n->chain)->validators};
        bool member = false;
        for (size_t s = 0; s < 2; s++) {
            for (size_t i = 0; i < sets[s]->n; i++) {
                member =
                    member || !memcmp(sets[s]->v[i].pubkey, ul_key_pubkey(n->key), UL_PUBKEY_BYTES);
            }
        }
        if (!member) {
            logf_("key %s is not a validator of this chain's genesis", o->key);
            return UL_E_VALIDATOR;
        }
    }
    if ((e = ul_cons_open(n, &o->net)) != UL_OK && e != UL_E_SIGN_STATE) { /* said */
        logf_("consensus: %s (%s)", ul_err_str(e), ul_err_name(e));
    }
    return e;
}

/* One request: receive, handle, reply. */
static void serve_one(ul_node *n, int sock)
{
    uint8_t *req, *rep = NULL;
    size_t len, rlen = 0;
    ul_err e = ul_p2p_recv(sock, &req, &len);
    if (e != UL_OK) {
        return;
    }
    ul_node_handle(n, req, len, &rep, &rlen);
    ul_p2p_free(req);
    if (rep && ul_p2p_send(sock, rep, rlen) != UL_OK) {
        logf_("reply not delivered (client gone)");
    }
    free(rep);
}

/* One thread: queries, peer messages and consensus steps take turns; the poll sleeps until the
 * next one is due. Returns: false when it stopped on damage found in the store. */
static bool run(ul_node *n, int sock, const char *db)
{
    const char *text;
    while (!stop_requested) {
        ul_nlog_poll(); /* after SIGHUP: the log file again */
        if (ul_store_fault(ul_chain_store(n->chain), &text) == UL_E_CORRUPT) {
            log_damage(db, text);
            return false;
        }
        long next_ms;
        ul_cons_step(n, ul_node_now_ms(), &next_ms);
        int socks[2] = {sock, ul_cons_socket(n)};
        bool ready[2] = {false, false};
        ul_err e = ul_p2p_poll(socks, 2, (int)next_ms, ready);
        if (e != UL_OK) {
            continue; /* a timeout, or a signal: re-check stop_requested */
        }
        if (ready[1]) {
            ul_cons_on_peer(n);
        }
        uint64_t until = ul_node_now_ms() + UL_NODE_TURN_MS;
        for (int i = 0; ready[0] && i < REQUESTS_PER_TURN && ul_node_now_ms() < until; i++) {
            serve_one(n, sock);
            bool more[1] = {false};
            ready[0] = ul_p2p_poll(socks, 1, 0, more) == UL_OK && more[0];
        }
    }
    ul_cons_finish(n);
    return true;
}

int main(int argc, char **argv)
{
    options o;
    ul_node n = {0};
    ul_node_io *io = NULL;
    int sock = -1, rc = 1;
    if (argc > 1 && !strcmp(argv[1], "init")) {
        return ul_node_init_main(argc - 1, argv + 1);
    }
    if (!parse_args(&o, argc, argv)) {
        return 2;
    }
    n.verbose = o.verbose;
    if (ul_nlog_open(o.verbose ? UL_LOG_DEBUG : UL_LOG_INFO, o.log_json, o.log_file) != UL_OK ||
        !set_paths(&o)) {
        return 2;
    }
    ul_err e = ul_client_init();
    if (e == UL_OK && o.reset_sign_state) {
        return reset_sign_state(&o);
    }
    /* The query endpoint is bound before anything is written: a node that cannot serve leaves
     * a new data directory as it found it (not created at all). */
    if (e == UL_OK && (e = ul_p2p_listen(&sock, o.listen)) != UL_OK) {
        ul_node_logl(UL_LOG_ERROR, "cannot listen on %s: %s", o.listen,
                     e == UL_E_EXISTS ? "address already in use" : "invalid endpoint");
        goto out;
    }
    if (e == UL_OK && o.dev && (e = dev_setup(&o)) != UL_OK) {
        logf_("dev setup in %s: %s", o.data, ul_err_str(e));
    }
    if (e != UL_OK || open_node(&n, &io, &o) != UL_OK) {
        goto out;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    struct sigaction hup = {.sa_handler = o.log_file[0] ? on_hup : SIG_IGN};
    sigemptyset(&hup.sa_mask);
    sigaction(SIGHUP, &hup, NULL); /* reopens the log file; ignored when logging to stderr */
    char id[2 * UL_HASH_BYTES + 1];
    ul_hex_encode(id, ul_chain_id(n.chain), UL_HASH_BYTES);
    logf_("chain %.16s… at height %llu, release log size %llu; listening on %s", id,
          (unsigned long long)ul_chain_height(n.chain),
          (unsigned long long)ul_chain_log_size(n.chain), o.listen);
    char db[4200];
    snprintf(db, sizeof db, "%s/db", o.data);
    if (!run(&n, sock, db)) {
        goto out;
    }
    logf_("stopped cleanly at height %llu", (unsigned long long)ul_chain_height(n.chain));
    rc = 0;
out:
    ul_p2p_close(sock);
    ul_cons_close(&n);
    ul_chain_close(n.chain);
    ul_node_io_close(io);
    ul_key_destroy(n.key);
    return rc;
}
