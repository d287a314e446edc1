/* upledgerd: the consortium node daemon. Serves the query endpoint, executes submitted
 * transactions into blocks, and commits them; --dev runs the embedded single-validator chain. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "node.h"

#define DEFAULT_HEARTBEAT_MS 2000
#define MAX_BATCH_WAIT_MS 20 /* a stream of requests still commits at least this often */
#define MAX_HEARTBEAT_MS (3600 * 1000)

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

uint64_t ul_node_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("upledgerd: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* Whether this node's key alone holds more than 2/3 of the power of the set that signs the next
 * block (the dev node commits with its one precommit); if not, it stops making blocks and says so
 * once. Multi-validator consensus is what would let it go on. */
static void check_alone(ul_node *n)
{
    const ul_valset *vs = ul_chain_valset(n->chain);
    uint64_t total = 0, mine = 0;
    for (size_t i = 0; i < vs->n; i++) {
        bool ours = memcmp(vs->v[i].pubkey, ul_key_pubkey(n->key), UL_PUBKEY_BYTES) == 0;
        total += vs->v[i].power;
        mine += ours ? vs->v[i].power : 0;
    }
    if (n->stalled || mine * 3 > total * 2) { /* total <= UL_MAX_TOTAL_POWER: no overflow */
        return;
    }
    n->stalled = mine ? UL_E_QUORUM : UL_E_VALIDATOR;
    logf_("cannot commit block %llu alone: this key holds %llu of the %llu voting power of the "
          "validator set that signs it (more than 2/3 needed): %s (%s); no more blocks, serving "
          "queries only",
          (unsigned long long)ul_chain_height(n->chain) + 1, (unsigned long long)mine,
          (unsigned long long)total, ul_err_str(n->stalled), ul_err_name(n->stalled));
}

ul_err ul_node_produce(ul_node *n)
{
    size_t txs = ul_chain_pending_count(n->chain);
    uint64_t h;
    if (n->stalled) {
        return n->stalled;
    }
    ul_err e = ul_chain_produce(n->chain, n->key, ul_node_now_ms(), &h);
    n->first_pending_ms = 0;
    if (e != UL_OK) {
        logf_("block %llu failed: %s (%s); its %zu pending transactions were dropped",
              (unsigned long long)ul_chain_height(n->chain) + 1, ul_err_str(e), ul_err_name(e),
              txs);
        return e;
    }
    if (txs || n->verbose) {
        logf_("committed block %llu: %zu txs, release log size %llu", (unsigned long long)h, txs,
              (unsigned long long)ul_chain_log_size(n->chain));
    }
    check_alone(n); /* the block may have changed the validator set */
    return UL_OK;
}

typedef struct {
    char data[3900]; /* room for "/validator.key" within the 4096 of key paths */
    char listen[512];
    char genesis[4096];
    char key[4096];
    long heartbeat_ms;
    bool dev;
    bool verbose;
} options;

static void usage(FILE *f)
{
    fprintf(f, "usage: upledgerd --dev --data DIR [--listen ENDPOINT] [--heartbeat-ms N] [-v]\n"
               "       upledgerd --config FILE [--listen ENDPOINT] [-v]\n"
               "\n"
               "Runs an upledger consortium node: executes transactions into blocks, stores them\n"
               "in DIR (LevelDB) and answers queries on ENDPOINT (nanomsg REQ/REP, default %s).\n"
               "\n"
               "  --dev             single-validator dev chain; on first start creates DIR/validator.key\n"
               "                    (UNENCRYPTED: a dev chain only) and DIR/genesis.cbor\n"
               "  --data DIR        data directory (blocks in DIR/db)\n"
               "  --config FILE     JSON config: {\"data\": DIR, \"genesis\": FILE, \"key\": FILE,\n"
               "                    \"listen\": ENDPOINT, \"heartbeat_ms\": N}; an encrypted key's\n"
               "                    passphrase comes from UPLEDGER_PASSPHRASE\n"
               "  --listen EP       endpoint to serve, e.g. tcp://127.0.0.1:7400\n"
               "  --heartbeat-ms N  empty block every N ms when idle (default %d)\n"
               "  -v, --verbose     log every block, heartbeats included\n"
               "SIGINT/SIGTERM commit pending transactions and stop.\n",
            UL_P2P_DEFAULT_ENDPOINT, DEFAULT_HEARTBEAT_MS);
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

static bool load_config(options *o, const char *path)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root || !json_is_object(root)) {
        logf_("config %s: %s", path, root ? "not a JSON object" : jerr.text);
        json_decref(root);
        return false;
    }
    const char *key;
    json_t *v;
    bool ok = true;
    json_object_foreach(root, key, v)
    {
        if (!strcmp(key, "heartbeat_ms")) {
            ok = json_is_integer(v) && json_integer_value(v) >= 10 &&
                 json_integer_value(v) <= MAX_HEARTBEAT_MS;
            o->heartbeat_ms = ok ? (long)json_integer_value(v) : 0;
        } else if (!strcmp(key, "data") || !strcmp(key, "genesis") || !strcmp(key, "key") ||
                   !strcmp(key, "listen")) {
            char *dst = !strcmp(key, "data")      ? o->data
                        : !strcmp(key, "genesis") ? o->genesis
                        : !strcmp(key, "key")     ? o->key
                                                  : o->listen;
            size_t cap = dst == o->listen ? sizeof o->listen : sizeof o->data;
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
    if (ok && (!o->data[0] || !o->genesis[0] || !o->key[0])) {
        logf_("config %s: \"data\", \"genesis\" and \"key\" are required", path);
        ok = false;
    }
    return ok;
}

static bool parse_args(options *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    o->heartbeat_ms = DEFAULT_HEARTBEAT_MS;
    snprintf(o->listen, sizeof o->listen, "%s", UL_P2P_DEFAULT_ENDPOINT);
    char listen[512] = "";
    long hb = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(a, "--dev")) {
            o->dev = true;
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            o->verbose = true;
        } else if (!strcmp(a, "--data") && copy_opt(o->data, sizeof o->data, v, a)) {
            i++;
        } else if (!strcmp(a, "--listen") && copy_opt(listen, sizeof listen, v, a)) {
            i++;
        } else if (!strcmp(a, "--config") && v && load_config(o, v)) {
            i++;
        } else if (!strcmp(a, "--heartbeat-ms") && parse_long(v, 10, MAX_HEARTBEAT_MS, &hb)) {
            i++;
        } else {
            logf_("bad argument: %s (see --help)", a);
            return false;
        }
    }
    if (listen[0]) {
        memcpy(o->listen, listen, sizeof listen);
    }
    if (hb) {
        o->heartbeat_ms = hb;
    }
    if (!o->data[0]) {
        logf_("need --dev --data DIR or --config FILE (see --help)");
        return false;
    }
    return true;
}

static ul_err read_file(const char *path, uint8_t **out, size_t *len, size_t max)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        return UL_E_IO;
    }
    uint8_t *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    bool err = ferror(f);
    fclose(f);
    if (!buf || err || n > max) {
        free(buf);
        return !buf ? UL_E_NOMEM : err ? UL_E_IO : UL_E_LIMIT;
    }
    *out = buf;
    *len = n;
    return UL_OK;
}

/* First start of a dev chain: a validator key (unencrypted, dev only) and a one-validator
 * genesis. Later starts reuse both. */
static ul_err dev_setup(options *o)
{
    snprintf(o->key, sizeof o->key, "%s/validator.key", o->data);
    snprintf(o->genesis, sizeof o->genesis, "%s/genesis.cbor", o->data);
    if (mkdir(o->data, 0700) != 0 && errno != EEXIST) {
        return UL_E_IO;
    }
    struct stat st;
    if (stat(o->genesis, &st) == 0) {
        return UL_OK;
    }
    ul_key *k = NULL;
    ul_err e = ul_key_generate(&k);
    if (e == UL_OK && (e = ul_key_save(k, o->key, NULL)) == UL_OK) {
        logf_("dev chain: created %s (UNENCRYPTED: for a dev chain only)", o->key);
    }
    if (e != UL_OK) {
        ul_key_destroy(k);
        return e;
    }
    ul_genesis g = {.version = 1, .name = ul_span_str("upledger-dev"),
                    .time_ms = ul_node_now_ms(), .validators = {.n = 1}};
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

static ul_err open_node(ul_node *n, options *o)
{
    uint8_t *genesis = NULL;
    size_t glen;
    char db[4200];
    const char *pass = getenv("UPLEDGER_PASSPHRASE");
    ul_err e = ul_key_load(&n->key, o->key, ul_key_file_encrypted(o->key) ? pass : NULL);
    if (e != UL_OK) {
        logf_("validator key %s: %s", o->key, ul_err_str(e));
        return e;
    }
    if ((e = read_file(o->genesis, &genesis, &glen, UL_MAX_VALSET_BYTES + 1024)) != UL_OK) {
        logf_("genesis %s: %s", o->genesis, ul_err_str(e));
        return e;
    }
    snprintf(db, sizeof db, "%s/db", o->data);
    e = ul_chain_open(&n->chain, db, genesis, glen);
    free(genesis);
    if (e != UL_OK) {
        logf_("opening %s: %s", db, ul_err_str(e));
        return e;
    }
    /* A key in neither the genesis set nor the current one is a configuration mistake; one a set
     * change left short (or removed) still serves the chain read-only (check_alone says so). */
    const ul_valset *sets[2] = {ul_chain_valset(n->chain), &ul_chain_genesis(n->chain)->validators};
    bool member = false;
    for (size_t s = 0; s < 2; s++) {
        for (size_t i = 0; i < sets[s]->n; i++) {
            const uint8_t *pub = sets[s]->v[i].pubkey;
            member = member || !memcmp(pub, ul_key_pubkey(n->key), UL_PUBKEY_BYTES);
        }
    }
    if (!member) {
        logf_("key %s is not a validator of this chain's genesis", o->key);
        return UL_E_VALIDATOR;
    }
    check_alone(n);
    return UL_OK;
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

static void run(ul_node *n, int sock, long heartbeat_ms)
{
    uint64_t last_block = ul_node_now_ms();
    while (!stop_requested) {
        uint64_t now = ul_node_now_ms();
        bool pending = ul_chain_pending_count(n->chain) > 0;
        /* With transactions waiting, drain what has already arrived, then commit. */
        long wait = pending ? 0 : (long)(last_block + heartbeat_ms - now);
        if (wait < 0) {
            wait = 0;
        }
        ul_err e = ul_p2p_wait(sock, (int)wait);
        now = ul_node_now_ms();
        if (e == UL_OK) {
            serve_one(n, sock);
            if (!(ul_chain_pending_count(n->chain) > 0 && n->first_pending_ms &&
                  now - n->first_pending_ms >= MAX_BATCH_WAIT_MS)) {
                continue;
            }
        } else if (e != UL_E_TIMEOUT) {
            continue; /* a signal: re-check stop_requested */
        }
        if (ul_chain_pending_count(n->chain) > 0 || now - last_block >= (uint64_t)heartbeat_ms) {
            ul_node_produce(n); /* a stalled node returns at once; the heartbeat still paces */
            last_block = ul_node_now_ms();
        }
    }
    if (ul_chain_pending_count(n->chain) > 0) {
        ul_node_produce(n);
    }
}

int main(int argc, char **argv)
{
    options o;
    ul_node n = {0};
    int sock = -1, rc = 1;
    if (!parse_args(&o, argc, argv)) {
        return 2;
    }
    n.verbose = o.verbose;
    ul_err e = ul_client_init();
    if (e == UL_OK && o.dev && (e = dev_setup(&o)) != UL_OK) {
        logf_("dev setup in %s: %s", o.data, ul_err_str(e));
    }
    if (e != UL_OK || open_node(&n, &o) != UL_OK) {
        goto out;
    }
    if ((e = ul_p2p_listen(&sock, o.listen)) != UL_OK) {
        logf_("cannot listen on %s: %s", o.listen,
              e == UL_E_EXISTS ? "address already in use" : "invalid endpoint");
        goto out;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    char id[2 * UL_HASH_BYTES + 1];
    ul_hex_encode(id, ul_chain_id(n.chain), UL_HASH_BYTES);
    logf_("chain %.16s… at height %llu, release log size %llu; listening on %s", id,
          (unsigned long long)ul_chain_height(n.chain),
          (unsigned long long)ul_chain_log_size(n.chain), o.listen);
    run(&n, sock, o.heartbeat_ms);
    logf_("stopped cleanly at height %llu", (unsigned long long)ul_chain_height(n.chain));
    rc = 0;
out:
    ul_p2p_close(sock);
    ul_chain_close(n.chain);
    ul_key_destroy(n.key);
    return rc;
}
