/* upledgerd: the consortium node daemon. Serves the query endpoint, executes submitted
 * transactions into blocks, and commits them; --dev runs the embedded single-validator chain. */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "io.h"
#include "metrics.h"
#include "node.h"
#include "options.h"

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
#define REQUESTS_PER_TURN                                                                          \
    64 /* queries served before consensus gets its turn (or UL_NODE_TURN_MS) */
/* Allocations below this come from the heap, not a fresh mmap each (see main). */
#define NODE_MMAP_THRESHOLD (16 << 20)
/* Free memory at the heap's top is given back to the system only beyond this. */
#define NODE_TRIM_THRESHOLD (64 << 20)

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
static ul_err dev_setup(ul_node_opts *o)
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
static bool set_paths(ul_node_opts *o)
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
static int reset_sign_state(const ul_node_opts *o)
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

static ul_err open_node(ul_node *n, ul_node_io **io, ul_node_opts *o)
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
/* After a stop was asked: answers the HTTP layer's requests already sent to the node, so none is
 * in flight when its sockets close (bounded: the HTTP layer waits no longer for an answer). */
static void drain_http(ul_node *n, int sock, ul_http *http)
{
    uint64_t until = ul_node_now_ms() + UL_HTTP_NODE_TIMEOUT_MS;
    while (ul_http_quiesce(http) && ul_node_now_ms() < until) {
        bool ready[1] = {false};
        if (ul_p2p_poll(&sock, 1, 10, ready) == UL_OK && ready[0]) {
            serve_one(n, sock);
        }
    }
}

/* Linux's SCHED_BATCH (sched(7)) for this thread and every thread started after it (nanomsg's
 * worker, LevelDB's compaction, the HTTP server's): a thread woken by a message no longer
 * preempts the one running. Each peer message and query woke a worker that did; on the
 * 4-validator benchmark (2 cores) the main threads were preempted ~270 times a second each,
 * ~70 under SCHED_BATCH, for 3-9% less CPU per release and the same commit latency. A policy an
 * operator chose (chrt: idle, real-time) is kept. */
static void set_sched(const ul_node_opts *o)
{
    int cur = sched_getscheduler(0), want = o->sched_normal ? SCHED_OTHER : SCHED_BATCH;
    struct sched_param sp = {0};
    if (cur == want || (cur != SCHED_OTHER && cur != SCHED_BATCH)) {
        return;
    }
    if (sched_setscheduler(0, want, &sp) != 0) {
        ul_node_logl(UL_LOG_WARN, "cannot run under %s (%s): the scheduling policy stays",
                     want == SCHED_BATCH ? "SCHED_BATCH" : "SCHED_OTHER", strerror(errno));
    }
}

static bool run(ul_node *n, int sock, const char *db, ul_http *http)
{
    const char *text;
    int socks[2] = {sock, ul_cons_socket(n)};
    ul_p2p_pollset ps;
    if (ul_p2p_pollset_init(&ps, socks, 2) != UL_OK) {
        ul_node_logl(UL_LOG_ERROR, "cannot wait on the query and peer sockets: not serving");
        return false;
    }
    while (!stop_requested) {
        ul_nlog_poll(); /* after SIGHUP: the log file again */
        if (ul_store_fault(ul_chain_store(n->chain), &text) == UL_E_CORRUPT) {
            log_damage(db, text);
            drain_http(n, sock, http); /* errors now, but none left in flight */
            return false;
        }
        long next_ms;
        ul_cons_step(n, ul_node_now_ms(), &next_ms);
        bool ready[2] = {false, false};
        ul_err e = ul_p2p_pollset_wait(&ps, 2, (int)next_ms, ready);
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
            ready[0] = ul_p2p_pollset_wait(&ps, 1, 0, more) == UL_OK && more[0];
        }
    }
    drain_http(n, sock, http);
    ul_cons_finish(n);
    return true;
}

int main(int argc, char **argv)
{
    ul_node_opts o;
    ul_node n = {0};
    ul_node_io *io = NULL;
    ul_http *http = NULL;
    int sock = -1, rc = 1;
    if (argc > 1 && !strcmp(argv[1], "init")) {
        return ul_node_init_main(argc - 1, argv + 1);
    }
    if (!ul_node_opts_parse(&o, argc, argv)) {
        return 2;
    }
    n.verbose = o.verbose;
    if (ul_nlog_open(o.verbose ? UL_LOG_DEBUG : UL_LOG_INFO, o.log_json, o.log_file) != UL_OK ||
        !set_paths(&o)) {
        return 2;
    }
    /* Proposals, blocks and their commit batches are a few hundred KiB each, above glibc's
     * starting mmap threshold: every one was a fresh mmap, page-faulted in and unmapped again
     * (about 100 of a validator's ~750 page faults a second at 1000 releases/s; the rest are its
     * caches warming). From the heap, and with the heap's top kept, their pages are reused. */
    mallopt(M_MMAP_THRESHOLD, NODE_MMAP_THRESHOLD);
    mallopt(M_TRIM_THRESHOLD, NODE_TRIM_THRESHOLD);
    set_sched(&o); /* before any thread starts: they inherit it */
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
    o.http.count = ul_metrics_http_count; /* HTTP requests by route and status */
    o.http.count_cls = ul_node_metrics(&n);
    if (ul_http_start(&http, &o.http, o.dev, sock, argv[0]) != UL_OK) {
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
    if (!run(&n, sock, db, http)) {
        goto out;
    }
    logf_("stopped cleanly at height %llu", (unsigned long long)ul_chain_height(n.chain));
    rc = 0;
out:
    ul_http_stop(http);
    ul_p2p_close(sock);
    ul_cons_close(&n);
    ul_chain_close(n.chain);
    ul_node_io_close(io);
    ul_key_destroy(n.key);
    return rc;
}
