/* upledger-tracker run: the daemon. It learns the chain id from the node (kept in the store, so a
 * tracker never mixes two chains), serves the HTTP(S) API, and polls the node every --poll-ms so
 * the fleet is reclassified when the chain changes, not only when devices report. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../ledger/ul_ledger.h"
#include "cmd.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void sleep_ms(uint64_t ms)
{
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* ADDR:PORT into its parts. */
static bool split_listen(const char *s, char *addr, size_t cap, unsigned *port)
{
    const char *colon = strrchr(s, ':');
    char *end;
    if (!colon || (size_t)(colon - s) >= cap) {
        return false;
    }
    memcpy(addr, s, (size_t)(colon - s));
    addr[colon - s] = 0;
    unsigned long p = strtoul(colon + 1, &end, 10);
    *port = (unsigned)p;
    return colon[1] && *end == 0 && p >= 1 && p <= 65535;
}

/* The chain id: the node's, checked against (or kept in) the store. While the node does not
 * answer, a tracker that already knows its chain serves with the kept id (reports keep coming;
 * each poll checks the node's chain before it writes anything); a new one waits for the node. */
static ul_err learn_chain(ul_tnode *n, ul_tstore *s, uint8_t chain_id[UL_HASH_BYTES])
{
    uint8_t kept[UL_HASH_BYTES];
    size_t klen = 0;
    uint64_t h;
    ul_err k = ul_tstore_meta_get(s, "chain_id", kept, sizeof(kept), &klen), e;
    bool have = k == UL_OK && klen == UL_HASH_BYTES;
    if (k != UL_OK && k != UL_E_NOT_FOUND) {
        return k;
    }
    while ((e = ul_tnode_status(n, &h, chain_id)) != UL_OK && !stop_requested && !have) {
        sleep_ms(200);
    }
    if (e != UL_OK && have) {
        fprintf(stderr,
                "upledger-tracker: the node does not answer (%s): serving with the chain id"
                " this tracker keeps\n",
                ul_err_name(e));
        memcpy(chain_id, kept, UL_HASH_BYTES);
        return UL_OK;
    }
    if (e != UL_OK) {
        return e;
    }
    if (!have) {
        return ul_tstore_meta_put(s, "chain_id", chain_id, UL_HASH_BYTES);
    }
    return memcmp(kept, chain_id, UL_HASH_BYTES) != 0 ? UL_E_CHAIN_ID : UL_OK;
}

/* Sends a summary upstream when one is due; each outcome that differs from the last is logged. */
static void maybe_push(ul_tracker_state *t, const ul_tupstream *u, uint64_t every_ms,
                       uint64_t *next_ms, ul_err *last)
{
    char msg[768];
    uint64_t now = ul_tracker_now_ms();
    if (!u || now < *next_ms) {
        return;
    }
    *next_ms = now + every_ms;
    ul_err e = ul_tupstream_push(t, u, msg, sizeof(msg));
    if (e != *last || e != UL_OK) {
        fprintf(stderr, "upledger-tracker: summary upstream: %s (%s)\n", msg, ul_err_name(e));
    }
    *last = e;
}

/* Polls until stopped; a failed poll (the node down) is logged once per change and retried. */
static void follow(ul_tnode *n, ul_tracker_state *t, uint64_t poll_ms, const ul_tupstream *u,
                   uint64_t every_ms)
{
    ul_err last = UL_OK, last_push = UL_E_INTERNAL;
    uint64_t next_push = 0;
    while (!stop_requested) {
        maybe_push(t, u, every_ms, &next_push, &last_push);
        ul_tpoll_stats st;
        ul_err e = ul_tnode_poll(n, t->store, &t->mu, t->ident.chain_id, &st);
        if (e != last) {
            fprintf(stderr, "upledger-tracker: poll: %s (%s)\n",
                    e == UL_OK ? "the node answers again" : ul_err_str(e), ul_err_name(e));
            last = e;
        }
        if (e == UL_OK && (st.latest_changed || st.revoked)) {
            fprintf(stderr,
                    "upledger-tracker: height %llu: %zu (namespace, class) pairs with a new"
                    " latest release, %zu releases revoked: reclassified\n",
                    (unsigned long long)st.height, st.latest_changed, st.revoked);
        }
        for (uint64_t slept = 0; slept < poll_ms && !stop_requested; slept += 50) {
            sleep_ms(poll_ms - slept < 50 ? poll_ms - slept : 50);
        }
    }
}

static int run_daemon(ul_topts *o, ul_tracker_state *t, ul_tnode *n, const ul_tupstream *u)
{
    char addr[64], msg[512], hex[2 * UL_PUBKEY_BYTES + 1];
    ul_thttp_opts ho = {.listen_addr = addr,
                        .tls_cert = o->tls_cert,
                        .tls_key = o->tls_key,
                        .threads = (unsigned)o->threads};
    ul_thttp *h = NULL;
    if (!split_listen(o->listen, addr, sizeof(addr), &ho.port)) {
        return ul_tracker_usage_err("--listen is ADDR:PORT, not ", o->listen);
    }
    ul_err e = learn_chain(n, t->store, t->ident.chain_id);
    if (e != UL_OK) {
        return ul_tracker_fail(e, "%s",
                               e == UL_E_CHAIN_ID
                                   ? "the node follows another chain than this tracker's"
                                   : "no chain id from the node");
    }
    if ((e = ul_thttp_start(&h, t, &ho, msg, sizeof(msg))) != UL_OK) {
        return ul_tracker_fail(e, "%s", msg);
    }
    ul_hex_encode(hex, t->ident.tracker, UL_PUBKEY_BYTES);
    fprintf(stderr, "upledger-tracker: serving %s://%s:%u, tracker key %s, following %s\n",
            o->tls_cert ? "https" : "http", addr, ho.port, hex, o->node);
    follow(n, t, o->poll_ms ? o->poll_ms : 5000, u,
           o->upstream_every_ms ? o->upstream_every_ms : 60000);
    ul_thttp_stop(h);
    fprintf(stderr, "upledger-tracker: stopped\n");
    return 0;
}

int ul_tracker_upstream_opts(const ul_topts *o, ul_tupstream *u)
{
    memset(u, 0, sizeof(*u));
    if (!o->upstream && !o->upstream_key && !o->upstream_cert) {
        return -1;
    }
    if (!o->upstream || !o->upstream_key) {
        return ul_tracker_usage_err("--upstream URL and --upstream-key HEX go together", NULL);
    }
    if (ul_hex_decode(u->key, sizeof(u->key), o->upstream_key) != UL_OK) {
        return ul_tracker_usage_err("--upstream-key is 64 hex digits, not ", o->upstream_key);
    }
    u->url = o->upstream;
    u->cert = o->upstream_cert;
    return 0;
}

/* Loads the tracker key (asking for its passphrase when it is encrypted) and opens the store. */
static int open_tracker(ul_topts *o, ul_tracker_state *t)
{
    char *pass = NULL;
    ul_tracker_state_init(t);
    ul_err e = ul_key_file_encrypted(o->keyfile)
                   ? ul_passphrase_read(o->passphrase_file, false, &pass)
                   : UL_OK;
    if (e == UL_OK) {
        e = ul_key_load(&t->ident.key, o->keyfile, pass);
    }
    ul_passphrase_free(pass);
    if (e != UL_OK) {
        return ul_tracker_fail(e, "%s: the tracker key does not load", o->keyfile);
    }
    memcpy(t->ident.tracker, ul_key_pubkey(t->ident.key), UL_PUBKEY_BYTES);
    if (ul_tracker_open_store(o, &t->store) != UL_OK ||
        ul_tracker_open_store(o, &t->reader) != UL_OK) {
        return UL_TEXIT_FAIL;
    }
    return 0;
}

static void close_tracker(ul_tracker_state *t)
{
    ul_tstore_close(t->reader);
    ul_tstore_close(t->store);
    ul_key_destroy(t->ident.key);
    ul_tracker_state_destroy(t);
}

int ul_tracker_run(ul_topts *o)
{
    ul_tracker_state t;
    ul_tnode n = {.sock = -1};
    ul_tupstream up;
    if (!o->node || !o->listen) {
        return ul_tracker_usage_err("run needs --node ENDPOINT and --listen ADDR:PORT", NULL);
    }
    if (!o->tls_cert != !o->tls_key) {
        return ul_tracker_usage_err("--tls-cert and --tls-key go together", NULL);
    }
    int rc = ul_tracker_upstream_opts(o, &up);
    if (rc > 0) {
        return rc;
    }
    bool has_up = rc == 0;
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if ((rc = open_tracker(o, &t)) == 0) {
        ul_err e = ul_tnode_open(&n, o->node, 5000);
        rc = e == UL_OK ? run_daemon(o, &t, &n, has_up ? &up : NULL)
                        : ul_tracker_fail(e, "node %s", o->node);
    }
    ul_tnode_close(&n);
    close_tracker(&t);
    return rc;
}

int ul_tracker_push(ul_topts *o)
{
    ul_tracker_state t;
    ul_tupstream up;
    uint8_t chain[UL_HASH_BYTES];
    size_t clen = 0;
    char msg[768];
    int rc = ul_tracker_upstream_opts(o, &up);
    if (rc != 0) {
        return rc > 0 ? rc
                      : ul_tracker_usage_err("push needs --upstream URL --upstream-key HEX", NULL);
    }
    if ((rc = open_tracker(o, &t)) == 0) {
        ul_err e = ul_tstore_meta_get(t.store, "chain_id", chain, sizeof(chain), &clen);
        if (e == UL_OK && clen == UL_HASH_BYTES) {
            memcpy(t.ident.chain_id, chain, UL_HASH_BYTES);
            e = ul_tupstream_push(&t, &up, msg, sizeof(msg));
        } else {
            e = UL_E_NOT_FOUND;
            snprintf(msg, sizeof(msg), "no chain id yet (run the tracker against its node once)");
        }
        rc = e == UL_OK ? 0 : ul_tracker_fail(e, "%s", msg);
        if (e == UL_OK) {
            printf("%s\n", msg);
        }
    }
    close_tracker(&t);
    return rc;
}
