/* upledgerd init: a new node home (a commented config, a validator key and its sign state, a data
 * directory), as `cometbft init` makes one. The consortium's genesis comes from elsewhere. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "node.h"

/* Room for HOME plus the longest name written in it ("validator.key.sign-state"), within the
 * 3900 bytes of a config's "data" (node/main.c). */
#define INIT_HOME_MAX 3800
/* The largest genesis --genesis copies: a full validator set and its header fields. */
#define INIT_GENESIS_MAX (UL_MAX_VALSET_BYTES + 1024)

typedef struct {
    char home[PATH_MAX];
    const char *genesis_from; /* --genesis FILE, or NULL */
    bool observer;
    bool unencrypted;
    uint8_t *genesis; /* its bytes, checked before anything is written */
    size_t glen;
} init_opts;

static void init_usage(FILE *f)
{
    fputs("usage: upledgerd init --home DIR [--genesis FILE] [--observer] [--unencrypted-key]\n"
          "Creates a node home DIR (mode 0700, never overwritten): DIR/config.json (commented:\n"
          "settings starting with \"_\" are notes the node ignores), DIR/validator.key\n"
          "(mode 0600, encrypted with the passphrase in UPLEDGER_PASSPHRASE, else typed twice)\n"
          "and its sign state, and an empty DIR/data. Prints the validator's public key: send\n"
          "it to the consortium, whose `upledger genesis` names it. --genesis FILE copies the\n"
          "chain's genesis to DIR/genesis.cbor. --observer: no key (an observer never votes).\n"
          "--unencrypted-key: store the key unencrypted (a test network only). Start:\n"
          "upledgerd --config DIR/config.json (UPLEDGER_PASSPHRASE set).\n",
          f);
}

static int init_bad(const char *msg, const char *arg)
{
    fprintf(stderr, "upledgerd init: %s%s (see upledgerd init --help)\n", msg, arg ? arg : "");
    return 2;
}

/* Parses argv; returns -1 to go on, else the exit code. */
static int init_parse(init_opts *o, int argc, char **argv)
{
    static const struct option opts[] = {
        {"home", required_argument, NULL, 'H'}, {"genesis", required_argument, NULL, 'g'},
        {"observer", no_argument, NULL, 'o'},   {"unencrypted-key", no_argument, NULL, 'u'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0}};
    const char *home = NULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        if (c == 'h') {
            init_usage(stdout);
            return 0;
        } else if (c == 'H') {
            home = optarg;
        } else if (c == 'g') {
            o->genesis_from = optarg;
        } else if (c == 'o' || c == 'u') {
            *(c == 'o' ? &o->observer : &o->unencrypted) = true;
        } else {
            return init_bad("unknown option or missing value: ", argv[optind - 1]);
        }
    }
    if (optind < argc) {
        return init_bad("unexpected argument: ", argv[optind]);
    }
    if (!home || !home[0]) {
        return init_bad("--home DIR is required", NULL);
    }
    if (o->observer && o->unencrypted) {
        return init_bad("--unencrypted-key: an observer has no key", NULL);
    }
    if (strlen(home) >= INIT_HOME_MAX) {
        return init_bad("--home is too long", NULL);
    }
    memcpy(o->home, home, strlen(home) + 1);
    return -1;
}

/* Reads and checks --genesis FILE: a genesis that decodes. */
static int init_read_genesis(init_opts *o)
{
    FILE *f = fopen(o->genesis_from, "rb");
    ul_genesis g;
    if (!f) {
        fprintf(stderr, "upledgerd init: genesis %s: %s\n", o->genesis_from, strerror(errno));
        return 1;
    }
    o->genesis = malloc(INIT_GENESIS_MAX + 1);
    o->glen = o->genesis ? fread(o->genesis, 1, INIT_GENESIS_MAX + 1, f) : 0;
    bool bad_io = ferror(f) || !o->genesis;
    fclose(f);
    ul_err e = bad_io                       ? UL_E_IO
               : o->glen > INIT_GENESIS_MAX ? UL_E_LIMIT
                                            : ul_schema_genesis_decode(&g, o->genesis, o->glen);
    if (e != UL_OK) {
        fprintf(stderr, "upledgerd init: genesis %s: %s (%s)\n", o->genesis_from, ul_err_str(e),
                ul_err_name(e));
        return 1;
    }
    return -1;
}

/* The key's passphrase: UPLEDGER_PASSPHRASE, else typed twice on the terminal; never empty.
 * Returns -1 to go on, else the exit code (said). */
static int init_passphrase(char **pass)
{
    ul_err e = ul_passphrase_read(NULL, true, pass);
    if (e == UL_OK && !(*pass)[0]) {
        e = UL_E_PASSPHRASE;
    }
    if (e == UL_OK) {
        return -1;
    }
    ul_passphrase_free(*pass);
    *pass = NULL;
    return init_bad(e == UL_E_PASSPHRASE
                        ? "no passphrase for the key (empty, the two typed differ, or no terminal "
                          "and no UPLEDGER_PASSPHRASE); --unencrypted-key: a test network only"
                        : "the passphrase could not be read: ",
                    e == UL_E_PASSPHRASE ? NULL : ul_err_str(e));
}

static bool put(json_t *cfg, const char *key, json_t *v)
{
    return v && json_object_set_new(cfg, key, v) == 0;
}

/* The commented config of home (an absolute path): notes are "_" settings. */
static ul_err write_config(const init_opts *o, const char *home)
{
    char path[PATH_MAX + 32];
    json_t *cfg = json_object();
    bool ok = cfg != NULL;
#define NOTE(k, text) (ok = ok && put(cfg, "_" k, json_string(text)))
#define PATHSET(k, name)                                                                           \
    (snprintf(path, sizeof path, "%s/%s", home, name), ok = ok && put(cfg, k, json_string(path)))
    NOTE("about", "upledgerd config, written by `upledgerd init`. Settings whose name starts "
                  "with _ are notes the node ignores. Start: upledgerd --config THIS_FILE "
                  "(UPLEDGER_PASSPHRASE holds the key's passphrase). See upledgerd --help.");
    NOTE("data", "the chain store (LevelDB in data/db); back it up, or resync it from peers");
    PATHSET("data", "data");
    NOTE("genesis", "the consortium's genesis (`upledger genesis ...` run by the consortium, "
                    "naming every validator's public key): the same file on every node");
    PATHSET("genesis", "genesis.cbor");
    if (!o->observer) {
        NOTE("key", "this validator's key; its sign state (double-sign guard) is KEY.sign-state");
        PATHSET("key", "validator.key");
    }
    NOTE("listen", "query endpoint for `upledger --node` (nanomsg); keep it on loopback or a "
                   "private network");
    ok = ok && put(cfg, "listen", json_string(UL_P2P_DEFAULT_ENDPOINT));
    NOTE("p2p", o->observer ? "an observer binds no p2p endpoint"
                            : "add \"p2p\": \"tcp://HOST:PORT\" (this validator's endpoint for "
                              "its peers) when there are peers");
    NOTE("peers", "the other nodes: [{\"p2p\": \"tcp://HOST:PORT\", \"rpc\": \"tcp://HOST:PORT\"}"
                  ", ...]; an observer needs at least one");
    ok = ok && put(cfg, "peers", json_array());
    if (o->observer) {
        ok = ok && put(cfg, "observer", json_true());
    }
    NOTE("checkpoint_ms", "co-signed freshness checkpoints every N ms (0: never); devices' "
                          "--max-age counts from them");
    ok = ok && put(cfg, "checkpoint_ms", json_integer(60000));
#undef NOTE
#undef PATHSET
    char *text = ok ? json_dumps(cfg, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(cfg);
    if (!text) {
        return UL_E_NOMEM;
    }
    snprintf(path, sizeof path, "%s/config.json", home);
    ul_err e = ul_file_write_new(path, text, strlen(text), 0600);
    free(text);
    return e;
}

/* The validator key (encrypted unless asked) and a fresh sign state. Out: hex, its public key. */
static ul_err write_key(const init_opts *o, const char *home, const char *pass, char *hex)
{
    char kpath[PATH_MAX + 32], spath[PATH_MAX + 64];
    ul_key *k = NULL;
    snprintf(kpath, sizeof kpath, "%s/validator.key", home);
    ul_err e = ul_signstate_path(spath, sizeof spath, kpath);
    if (e == UL_OK && (e = ul_key_generate(&k)) == UL_OK &&
        (e = ul_key_save(k, kpath, o->unencrypted ? NULL : pass)) == UL_OK) {
        ul_sign_state fresh = {0}; /* a new key has signed nothing */
        memcpy(fresh.pubkey, ul_key_pubkey(k), UL_PUBKEY_BYTES);
        e = ul_signstate_save(spath, &fresh);
        ul_hex_encode(hex, ul_key_pubkey(k), UL_PUBKEY_BYTES);
    }
    ul_key_destroy(k);
    return e;
}

/* Removes what a failed init wrote: the home was new, so all of it is ours. */
static void undo(const char *home)
{
    static const char *const names[] = {"config.json", "validator.key", "validator.key.sign-state",
                                        "genesis.cbor"};
    char path[PATH_MAX + 32];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", home, names[i]);
        (void)unlink(path);
    }
    snprintf(path, sizeof path, "%s/data", home);
    (void)rmdir(path);
    (void)rmdir(home);
}

/* Writes everything into the new home dir (absolute path abs). */
static ul_err populate(const init_opts *o, const char *abs, const char *pass, char *hex)
{
    char path[PATH_MAX + 32];
    ul_err e = UL_OK;
    snprintf(path, sizeof path, "%s/data", abs);
    if (mkdir(path, 0700) != 0) {
        return UL_E_IO;
    }
    if (!o->observer && (e = write_key(o, abs, pass, hex)) != UL_OK) {
        return e;
    }
    snprintf(path, sizeof path, "%s/genesis.cbor", abs);
    if (o->genesis && (e = ul_file_write_new(path, o->genesis, o->glen, 0644)) != UL_OK) {
        return e;
    }
    return write_config(o, abs);
}

static void next_steps(const init_opts *o, const char *abs, const char *hex)
{
    if (!o->observer) {
        printf("%s\n", hex);
        fprintf(stderr,
                "upledgerd init: wrote %s key %s/validator.key; its public key (above) "
                "goes to the consortium\n",
                o->unencrypted ? "UNENCRYPTED" : "encrypted", abs);
    }
    if (!o->genesis) {
        fprintf(stderr,
                "upledgerd init: next: get the chain's genesis from the consortium, made with\n"
                "  upledger genesis --out genesis.cbor --validator PUBKEY[:POWER]... --name NAME\n"
                "  (one --validator per validator's public key), and copy it to "
                "%s/genesis.cbor\n",
                abs);
    }
    fprintf(stderr,
            "upledgerd init: then set \"peers\" (and a validator's \"p2p\") in %s/config.json "
            "and start: upledgerd --config %s/config.json\n",
            abs, abs);
}

int ul_node_init_main(int argc, char **argv)
{
    init_opts o = {0};
    char abs[PATH_MAX] = "", hex[2 * UL_PUBKEY_BYTES + 1] = "";
    int rc = init_parse(&o, argc, argv);
    char *pass = NULL;
    ul_err e = ul_client_init(); /* libsodium's too: the passphrase goes in its locked memory */
    if (rc < 0 && e != UL_OK) {
        fprintf(stderr, "upledgerd init: %s (%s)\n", ul_err_str(e), ul_err_name(e));
        rc = 1;
    }
    if (rc < 0 && !o.observer && !o.unencrypted) {
        rc = init_passphrase(&pass);
    }
    if (rc < 0 && o.genesis_from) {
        rc = init_read_genesis(&o);
    }
    if (rc < 0 && mkdir(o.home, 0700) != 0) {
        fprintf(stderr, "upledgerd init: %s: %s; nothing changed\n", o.home,
                errno == EEXIST ? "exists (refusing to overwrite a node home)" : strerror(errno));
        rc = 1;
    }
    if (rc >= 0) {
        free(o.genesis);
        ul_passphrase_free(pass);
        return rc;
    }
    if (!realpath(o.home, abs)) {
        abs[0] = '\0', e = UL_E_IO;
    }
    if (e == UL_OK && (e = populate(&o, abs, pass, hex)) == UL_OK) {
        next_steps(&o, abs, hex);
        rc = 0;
    } else {
        fprintf(stderr, "upledgerd init: writing %s: %s (%s); nothing kept\n", o.home,
                ul_err_str(e), ul_err_name(e));
        undo(abs[0] ? abs : o.home);
        rc = 1;
    }
    free(o.genesis);
    ul_passphrase_free(pass);
    return rc;
}
