/* The whole-node simulator (tests/sim/README.md): n full validators — driver, pool, sync,
 * gossip, sign log, ledger, execution, a memory store — in one process on the simulated world of
 * world.c, from one seed. Clients submit signed transactions to random nodes; the seed chooses
 * the faults (loss, delay, duplication, reordering, partitions, crashes dropping unsynced writes,
 * full disks, corrupted reads, clock skew, one Byzantine validator); every step checks safety and
 * exactly-once commits, restarts and the end audit every chain, and a final phase with the
 * faults healed must commit everything within LIVE_MS. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/unit/nodefx.h"
#include "world.h"

#define STEP_MS 5 /* one step: every node's turn, then the checks */
/* After the heal, the new and every acknowledged tx commit within this, and no node still syncs
 * toward an unserved claim. A node sets aside for UL_CLAIM_IGNORE_MS the claims of a peer that
 * served it nothing, an honest one cut off by a partition too; a node left behind then waits
 * that long before it syncs again (seed 126 with a 10 s bound): hence the bound's 60 s. */
#define LIVE_MS (UL_CLAIM_IGNORE_MS + 10000)
#define RESUBMIT_MS 3000 /* a client sends its transaction again after this long */
#define MAX_CLIENTS 3
#define MAX_TXS 4                              /* per client: a register, then publishes */
#define MAX_SUBS (MAX_CLIENTS * (MAX_TXS + 1)) /* and one more each after the heal */
#define MAX_HEIGHT 4096
#define T0 UL_NODEFX_T0

typedef struct {
    ul_key *owner;
    char ns[32];
    size_t k, ntx;    /* the transaction now, how many in all */
    bool outstanding; /* sent, not yet seen committed */
    uint64_t sent_at;
} client;

typedef struct {
    ul_chainfx_txbuf tx;
    uint8_t id[UL_HASH_BYTES]; /* SHA-256 of its bytes */
    bool built, acked;
    unsigned count[SIM_MAXN]; /* commits on each node's chain */
} sub;

typedef struct {
    sim_world w;
    client c[MAX_CLIENTS];
    size_t nc;
    sub s[MAX_SUBS];
    uint8_t block[MAX_HEIGHT + 1][UL_HASH_BYTES]; /* header hash committed at each height */
    bool have[MAX_HEIGHT + 1];
    uint32_t crash_rate, part_rate, full_rate, corrupt_rate; /* per 100,000 steps */
    uint64_t heal_at, part_until;
    uint64_t n_crash, n_part, n_full, n_corrupt, n_audit;
    char fail[300];
} sim;

static bool g_sign_full;
static ul_key *g_keys[SIM_MAXN], *g_owners[MAX_CLIENTS];

static void failf(sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void failf(sim *s, const char *fmt, ...)
{
    va_list ap;
    if (s->fail[0]) {
        return;
    }
    int k = snprintf(s->fail, sizeof s->fail, "t=%" PRIu64 ": ", s->w.now);
    va_start(ap, fmt);
    vsnprintf(s->fail + k, sizeof s->fail - (size_t)k, fmt, ap);
    va_end(ap);
}

static bool honest(const sim_node *nd)
{
    return !nd->byz;
}

/* ---- nodes: start, stop, crash, repair ---- */

static ul_err node_start(sim *s, sim_node *nd)
{
    sim_world *w = &s->w;
    ul_err e = ul_chain_open_mem(&nd->node.chain, nd->disk, w->genesis, w->glen);
    w->cur = nd->i;
    if (e == UL_OK && (e = ul_cons_open(&nd->node, &nd->cfg)) != UL_OK) {
        ul_chain_close(nd->node.chain);
    }
    w->cur = SIZE_MAX;
    if (e != UL_OK) {
        nd->node.chain = NULL;
        return e;
    }
    nd->up = true;
    nd->busy = w->now;
    return UL_OK;
}

static void node_stop(sim_node *nd)
{
    if (!nd->up) {
        return;
    }
    ul_cons_close(&nd->node);
    ul_chain_close(nd->node.chain);
    nd->node.chain = NULL;
    sim_queue_clear(nd);
    nd->up = false;
}

static ul_err audit_src(void *arg, uint64_t h, uint8_t **blk, size_t *blen, uint8_t **cm,
                        size_t *clen)
{
    return ul_chainfx_block(arg, h, blk, blen, cm, clen);
}

/* Replays nd's whole chain from genesis in memory (ul_audit_run): every block, commit, tx and
 * root must verify. */
static void audit(sim *s, sim_node *nd)
{
    ul_audit_result res;
    s->n_audit++;
    ul_err e =
        ul_audit_run(s->w.genesis, s->w.glen, audit_src, nd->node.chain, NULL, NULL, NULL, &res);
    if (e != UL_OK) {
        failf(s, "AUDIT: node %zu's chain fails at height %" PRIu64 ": %s", nd->i, res.fail_height,
              ul_err_name(e));
    } else if (res.height != ul_chain_height(nd->node.chain)) {
        failf(s, "AUDIT: node %zu audited %" PRIu64 " of %" PRIu64 " blocks", nd->i, res.height,
              ul_chain_height(nd->node.chain));
    }
}

/* A power cut: the writes not synced are dropped (a random suffix of them), the process state
 * is gone; the sign state file keeps what was saved. */
static void crash(sim *s, sim_node *nd, uint64_t down_ms)
{
    if (ul_memdisk_crash(nd->disk, &s->w.rng) != UL_OK) {
        failf(s, "memdisk crash: out of memory");
    }
    node_stop(nd);
    nd->restart_at = s->w.now + down_ms;
    s->n_crash++;
}

/* A node that read damage stops serving (upledgerd exits); the README's repair: move the
 * database aside and restart, and it syncs every block again from its peers. */
static void repair(sim *s, sim_node *nd)
{
    node_stop(nd);
    ul_memdisk_destroy(nd->disk);
    nd->disk = NULL;
    if (ul_memdisk_create(&nd->disk) != UL_OK) {
        failf(s, "memdisk: out of memory");
        return;
    }
    nd->checked = 0;
    for (size_t k = 0; k < MAX_SUBS; k++) {
        s->s[k].count[nd->i] = 0;
    }
    nd->restart_at = s->w.now + 100;
}

static void restart(sim *s, sim_node *nd)
{
    ul_err e = node_start(s, nd);
    if (e != UL_OK) {
        failf(s, "node %zu does not restart: %s", nd->i, ul_err_name(e));
        return;
    }
    if (honest(nd) && nd->checked) {
        audit(s, nd); /* what a crash left must be a whole chain */
    }
}

/* ---- the world: n validators (and a Byzantine twin) at genesis ---- */

static void node_cfg(sim_world *w, sim_node *nd)
{
    ul_node_cfg *c = &nd->cfg;
    memset(c, 0, sizeof *c);
    c->heartbeat_ms = 3600000; /* blocks only for transactions */
    c->round_timeout_ms = 300;
    snprintf(c->sign_state, sizeof c->sign_state, "sim/n%zu.sign-state", nd->i);
    for (size_t v = 0; v < w->n; v++) {
        if (v != nd->val) {
            nd->peer_node[c->n_peers] = v;
            snprintf(c->peer_rpc[c->n_peers], sizeof c->peer_rpc[0], "sim://n%zu", v);
            snprintf(c->peer_p2p[c->n_peers++], sizeof c->peer_p2p[0], "sim://n%zu", v);
        }
    }
}

static void world_make(sim *s, size_t n)
{
    sim_world *w = &s->w;
    ul_valset vs;
    uint64_t power[SIM_MAXN];
    w->n = n;
    w->nn = n + (w->byz < n && w->f.twin);
    for (size_t v = 0; v < n; v++) {
        w->keys[v] = g_keys[v];
        power[v] = 1;
    }
    ul_chainfx_valset(&vs, (const ul_key *const *)w->keys, power, n);
    ul_chainfx_genesis(w->genesis, sizeof w->genesis, &w->glen, w->chain_id, "nodesim", T0, &vs);
    for (size_t i = 0; i < w->nn; i++) {
        sim_node *nd = &w->node[i];
        nd->w = w;
        nd->i = i;
        nd->val = i < n ? i : w->byz;
        nd->byz = w->byz_mask >> nd->val & 1;
        nd->node.key = w->keys[nd->val];
        nd->node.io = &nd->io;
        sim_io_init(nd);
        node_cfg(w, nd);
        memcpy(nd->sign.pubkey, ul_key_pubkey(nd->node.key), UL_PUBKEY_BYTES);
        nd->sign_exists = true;
        if (ul_memdisk_create(&nd->disk) != UL_OK || node_start(s, nd) != UL_OK) {
            failf(s, "node %zu does not start", i);
        }
    }
}

static void world_free(sim *s)
{
    for (size_t i = 0; i < s->w.nn; i++) {
        node_stop(&s->w.node[i]);
        ul_memdisk_destroy(s->w.node[i].disk);
    }
}

/* ---- clients ---- */

static void client_tx(sim *s, size_t ci)
{
    client *c = &s->c[ci];
    sub *b = &s->s[ci * (MAX_TXS + 1) + c->k];
    ul_nodefx fx;
    if (b->built) {
        return;
    }
    memset(&fx, 0, sizeof fx);
    memcpy(fx.chain_id, s->w.chain_id, UL_HASH_BYTES);
    fx.owner = c->owner;
    if (c->k == 0) {
        ul_nodefx_register(&fx, &b->tx, c->ns, 1);
    } else {
        ul_nodefx_publish(&fx, &b->tx, c->ns, c->k);
    }
    ul_client_sha256(b->id, b->tx.b, b->tx.len);
    b->built = true;
}

static bool committed_somewhere(const sim *s, const sub *b)
{
    for (size_t i = 0; i < s->w.nn; i++) {
        if (honest(&s->w.node[i]) && b->count[i]) {
            return true;
        }
    }
    return false;
}

/* Each client has one transaction out at a time (its nonces and sequence numbers run in
 * order); it gives it to a random node, and again to another after RESUBMIT_MS. */
static void client_step(sim *s, size_t ci)
{
    sim_world *w = &s->w;
    client *c = &s->c[ci];
    if (c->k >= c->ntx) {
        return;
    }
    sub *b = &s->s[ci * (MAX_TXS + 1) + c->k];
    if (c->outstanding && committed_somewhere(s, b)) {
        c->outstanding = false;
        c->k++;
        return;
    }
    if ((c->outstanding && w->now < c->sent_at + RESUBMIT_MS) ||
        (!c->outstanding && ul_rng_below(&w->rng, 40) != 0)) {
        return;
    }
    client_tx(s, ci);
    sim_node *nd = &w->node[ul_rng_below(&w->rng, w->nn)];
    c->outstanding = true;
    c->sent_at = w->now;
    if (!nd->up) {
        return;
    }
    uint8_t id[UL_HASH_BYTES];
    w->cur = nd->i;
    ul_err e = ul_cons_submit(&nd->node, b->tx.b, b->tx.len, id);
    w->cur = SIZE_MAX;
    b->acked = b->acked || e == UL_OK;
}

/* ---- checks ---- */

/* Each height a node newly holds: the same header as every other node's at that height, and
 * no transaction committed twice. */
static void check_node(sim *s, sim_node *nd)
{
    uint64_t h = ul_chain_height(nd->node.chain);
    for (uint64_t k = nd->checked + 1; k <= h && !s->fail[0]; k++) {
        uint8_t *hdr = NULL, *blk = NULL, hash[UL_HASH_BYTES];
        size_t hlen, blen;
        ul_span txs[UL_MAX_BLOCK_TXS];
        ul_block b;
        if (k > MAX_HEIGHT || ul_chain_header_bytes(nd->node.chain, k, &hdr, &hlen) != UL_OK ||
            ul_chain_block_bytes(nd->node.chain, k, &blk, &blen) != UL_OK ||
            ul_schema_block_split(&b, txs, UL_MAX_BLOCK_TXS, blk, blen) != UL_OK) {
            if (ul_store_fault(ul_chain_store(nd->node.chain), NULL) == UL_E_CORRUPT) {
                free(hdr);
                free(blk);
                repair(s, nd); /* the damage dealt to it met the checker first */
                return;
            }
            failf(s, "node %zu cannot read its block %" PRIu64, nd->i, k);
        } else {
            ul_client_sha256(hash, hdr, hlen);
            if (s->have[k] && memcmp(s->block[k], hash, UL_HASH_BYTES) != 0) {
                failf(s, "SAFETY: node %zu committed another block at height %" PRIu64, nd->i, k);
            }
            memcpy(s->block[k], hash, UL_HASH_BYTES);
            s->have[k] = true;
            for (size_t t = 0; t < b.n_txs; t++) {
                uint8_t id[UL_HASH_BYTES];
                ul_client_sha256(id, txs[t].ptr, txs[t].len);
                for (size_t j = 0; j < MAX_SUBS; j++) {
                    if (s->s[j].built && memcmp(s->s[j].id, id, UL_HASH_BYTES) == 0 &&
                        ++s->s[j].count[nd->i] > 1) {
                        failf(s, "ONCE: node %zu committed submission %zu again at height %" PRIu64,
                              nd->i, j, k);
                    }
                }
            }
        }
        free(hdr);
        free(blk);
    }
    nd->checked = h;
}

/* The first honest node block sync still steers toward a head no honest node has (a claim
 * nobody serves); SIZE_MAX: none. Out: *target, that head. */
static size_t unserved_claim(const sim *s, uint64_t *target)
{
    uint64_t top = 0, ignored;
    for (size_t i = 0; i < s->w.nn; i++) {
        const sim_node *nd = &s->w.node[i];
        if (honest(nd) && nd->up && ul_chain_height(nd->node.chain) > top) {
            top = ul_chain_height(nd->node.chain);
        }
    }
    for (size_t i = 0; i < s->w.nn; i++) {
        const sim_node *nd = &s->w.node[i];
        if (honest(nd) && nd->up) {
            ul_cons_sync_status(&nd->node, target, &ignored);
            if (*target > top) {
                return i;
            }
        }
    }
    return SIZE_MAX;
}

/* Done: every client's transactions are committed, once each, on every honest node, and no
 * honest node is steered by a claimed head nobody serves. */
static bool all_done(const sim *s)
{
    uint64_t target;
    if (unserved_claim(s, &target) != SIZE_MAX) {
        return false;
    }
    for (size_t ci = 0; ci < s->nc; ci++) {
        if (s->c[ci].k < s->c[ci].ntx) {
            return false;
        }
        for (size_t t = 0; t < s->c[ci].ntx; t++) {
            const sub *b = &s->s[ci * (MAX_TXS + 1) + t];
            for (size_t i = 0; i < s->w.nn; i++) {
                if (honest(&s->w.node[i]) && (!s->w.node[i].up || b->count[i] != 1)) {
                    return false;
                }
            }
        }
    }
    return true;
}

/* ---- faults ---- */

static sim_node *pick_honest_up(sim *s)
{
    sim_world *w = &s->w;
    sim_node *nd = &w->node[ul_rng_below(&w->rng, w->nn)];
    return nd->up && honest(nd) ? nd : NULL;
}

static bool dice(sim *s, uint32_t rate)
{
    return rate && ul_rng_below(&s->w.rng, 100000) < rate;
}

static void faults_step(sim *s)
{
    sim_world *w = &s->w;
    sim_node *nd;
    if (dice(s, s->crash_rate) && (nd = pick_honest_up(s))) {
        crash(s, nd, 50 + ul_rng_below(&w->rng, 2000));
    }
    if (s->part_until == 0 && dice(s, s->part_rate)) {
        for (size_t i = 0; i < w->nn; i++) {
            w->node[i].group = (int)ul_rng_below(&w->rng, 2);
        }
        s->part_until = w->now + 200 + ul_rng_below(&w->rng, 3000);
        s->n_part++;
    } else if (s->part_until && w->now >= s->part_until) {
        for (size_t i = 0; i < w->nn; i++) {
            w->node[i].group = 0;
        }
        s->part_until = 0;
    }
    if (dice(s, s->full_rate) && (nd = pick_honest_up(s))) {
        ul_memdisk_set_full(nd->disk, true);
        nd->full_until = w->now + 200 + ul_rng_below(&w->rng, 2000);
        s->n_full++;
    }
    if (dice(s, s->corrupt_rate) && (nd = pick_honest_up(s))) {
        ul_memdisk_corrupt_reads(nd->disk, 1);
        s->n_corrupt++;
    }
}

/* The faults stop: partitions heal, disks have room and read true, every node is up; loss,
 * duplication and delays end (the Byzantine validator goes on). */
static void heal(sim *s)
{
    sim_world *w = &s->w;
    w->faults_on = false;
    s->part_until = 0;
    for (size_t i = 0; i < w->nn; i++) {
        sim_node *nd = &w->node[i];
        nd->group = 0;
        nd->full_until = 0;
        ul_memdisk_set_full(nd->disk, false);
        ul_memdisk_corrupt_reads(nd->disk, 0); /* damage not met yet is not met */
        if (!nd->up) {
            nd->restart_at = w->now;
        }
    }
}

/* The Byzantine validator: a head of 2^64-1 announced to every peer, and junk messages of
 * every kind within the transport's bounds (its queue). */
static void byz_step(sim *s, sim_node *nd)
{
    sim_world *w = &s->w;
    if (w->f.claim && w->now % 250 == 0) {
        sim_claim_max(nd);
    }
    for (int k = 0; w->f.flood && k < 4; k++) {
        uint8_t junk[512];
        size_t len = 1 + ul_rng_below(&w->rng, sizeof junk);
        for (size_t j = 0; j < len; j++) {
            junk[j] = (uint8_t)ul_rng_next(&w->rng);
        }
        sim_deliver(nd, 1 + (uint32_t)ul_rng_below(&w->rng, 5), junk, len, NULL, 0);
    }
}

/* ---- the run ---- */

static void turn(sim *s, sim_node *nd)
{
    sim_world *w = &s->w;
    if (!nd->up) {
        if (nd->restart_at <= w->now) {
            restart(s, nd);
        }
        return;
    }
    if (nd->full_until && nd->full_until <= w->now) {
        ul_memdisk_set_full(nd->disk, false);
        nd->full_until = 0;
    }
    if (nd->byz) {
        byz_step(s, nd); /* its claims and floods keep their pace */
    }
    if (nd->busy > w->now) {
        return; /* still in a query it made */
    }
    long next = 1000;
    w->cur = nd->i;
    ul_cons_on_peer(&nd->node);
    ul_cons_step(&nd->node, sim_node_now(nd), &next);
    w->cur = SIZE_MAX;
    if (ul_store_fault(ul_chain_store(nd->node.chain), NULL) == UL_E_CORRUPT) {
        ul_node_log("node %zu met damage in its store: repaired from its peers", nd->i);
        repair(s, nd);
    }
}

static void step(sim *s)
{
    sim_world *w = &s->w;
    size_t order[SIM_MAXN];
    for (size_t i = 0; i < w->nn; i++) {
        order[i] = i;
    }
    for (size_t i = w->nn; i > 1; i--) { /* a new interleaving every step */
        size_t j = ul_rng_below(&w->rng, i), t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    if (w->faults_on) {
        faults_step(s);
    }
    for (size_t ci = 0; ci < s->nc; ci++) {
        client_step(s, ci);
    }
    for (size_t i = 0; i < w->nn && !s->fail[0]; i++) {
        turn(s, &w->node[order[i]]);
    }
    for (size_t i = 0; i < w->nn && !s->fail[0]; i++) {
        if (w->node[i].up && honest(&w->node[i])) {
            check_node(s, &w->node[i]);
        }
    }
    w->now += STEP_MS;
}

/* The seed's dice: which faults, how often, and the Byzantine validator's behaviours. */
static void plan(sim *s, uint64_t seed, size_t n)
{
    sim_world *w = &s->w;
    uint64_t bits = ul_rng_next(&w->rng);
    w->f.drop_pct = bits & 1 ? (uint32_t)ul_rng_below(&w->rng, 20) : 0;
    w->f.dup_pct = bits & 2 ? (uint32_t)ul_rng_below(&w->rng, 15) : 0;
    w->f.delay_max = 1 + (uint32_t)ul_rng_below(&w->rng, 80);
    s->crash_rate = bits & 4 ? 100 + (uint32_t)ul_rng_below(&w->rng, 300) : 0;
    s->part_rate = bits & 8 ? 50 + (uint32_t)ul_rng_below(&w->rng, 150) : 0;
    s->full_rate = bits & 16 ? 50 + (uint32_t)ul_rng_below(&w->rng, 150) : 0;
    s->corrupt_rate = bits & 32 ? 30 + (uint32_t)ul_rng_below(&w->rng, 100) : 0;
    w->byz = n;
    for (size_t k = bits & 64 ? 1 + ul_rng_below(&w->rng, (n - 1) / 3) : 0; k > 0; k--) {
        size_t v;
        do {
            v = (size_t)ul_rng_below(&w->rng, n);
        } while (w->byz_mask >> v & 1);
        w->byz_mask |= 1u << v;
        w->byz = w->byz < n ? w->byz : v;
    }
    w->f.claim = bits & 128;
    w->f.withhold = bits & 256;
    w->f.silent = bits & 2048;
    w->f.flood = bits & 512;
    w->f.twin = bits & 1024;
    s->nc = 1 + (size_t)ul_rng_below(&w->rng, MAX_CLIENTS);
    for (size_t ci = 0; ci < s->nc; ci++) {
        s->c[ci].owner = g_owners[ci];
        s->c[ci].ntx = 1 + (size_t)ul_rng_below(&w->rng, MAX_TXS);
        snprintf(s->c[ci].ns, sizeof s->c[ci].ns, "client%zu/fw", ci);
    }
    s->heal_at = 2000 + ul_rng_below(&w->rng, 6000);
    (void)seed;
}

static void skews(sim *s)
{
    sim_world *w = &s->w;
    for (size_t i = 0; i < w->nn; i++) {
        w->node[i].skew = (int64_t)ul_rng_below(&w->rng, 201) - 100;
    }
}

/* Each node's state, for a failing seed's report. */
static void nodes_dump(sim *s)
{
    for (size_t i = 0; i < s->w.nn; i++) {
        sim_node *nd = &s->w.node[i];
        uint64_t pooled = 0, round = 0, last[4] = {0}, until = 0, target = 0, ignored = 0;
        ul_peer_stats ps;
        ul_err refusing = UL_OK;
        if (nd->up) {
            ul_cons_figures(&nd->node, &pooled, &round, &ps);
            (void)ul_cons_sign_status(&nd->node, last, &refusing, &until);
            ul_cons_sync_status(&nd->node, &target, &ignored);
        }
        fprintf(stderr,
                "  node %zu%s%s: height %" PRIu64 " round %" PRIu64 " pooled %" PRIu64
                " signed (%" PRIu64 ",%" PRIu64 ",%" PRIu64 ") %s sync target %" PRIu64
                " claims ignored %" PRIu64 "\n",
                i, nd->byz ? " (byzantine)" : "", nd->up ? "" : " (down)",
                nd->up ? ul_chain_height(nd->node.chain) : 0, round, pooled, last[0], last[1],
                last[2], ul_err_name(refusing), target, ignored);
    }
}

/* Runs seed; returns whether every check held. Out: digest, over every node's store. */
static bool run(sim *s, uint64_t seed, size_t n, int verbose, uint8_t digest[UL_HASH_BYTES])
{
    sim_world *w = &s->w;
    memset(s, 0, sizeof *s);
    sim_world_seed(w, seed);
    w->verbose = verbose;
    w->sign_full = g_sign_full || seed % 2 == 0; /* every other seed without --sign-full */
    w->now = T0 + 1000;
    plan(s, seed, n);
    world_make(s, n);
    skews(s);
    uint64_t start = w->now;
    w->faults_on = true;
    while (!s->fail[0] && w->now < start + s->heal_at) {
        step(s);
    }
    heal(s);
    for (size_t ci = 0; ci < s->nc; ci++) {
        s->c[ci].ntx++; /* commits must resume: one transaction more from each client */
    }
    uint64_t healed = w->now;
    while (!s->fail[0] && !all_done(s)) {
        uint64_t target;
        size_t who = unserved_claim(s, &target);
        if (w->now >= healed + LIVE_MS && who != SIZE_MAX) {
            failf(s,
                  "LIVENESS: %" PRIu64 " s after the faults healed node %zu still syncs toward a "
                  "claimed head of %" PRIu64 " that no honest node has",
                  (uint64_t)LIVE_MS / 1000, who, target);
            break;
        }
        if (w->now >= healed + LIVE_MS) {
            failf(s,
                  "LIVENESS: %" PRIu64 " s after the faults healed not everything is committed"
                  " (heights %" PRIu64 "..)",
                  (uint64_t)LIVE_MS / 1000, ul_chain_height(w->node[0].node.chain));
            break;
        }
        step(s);
    }
    for (size_t i = 0; i < w->nn && !s->fail[0]; i++) {
        if (honest(&w->node[i])) {
            audit(s, &w->node[i]);
        }
    }
    uint8_t all[SIM_MAXN * UL_HASH_BYTES];
    for (size_t i = 0; i < w->nn; i++) {
        ul_memdisk_hash(w->node[i].disk, false, all + i * UL_HASH_BYTES);
    }
    ul_client_sha256(digest, all, w->nn * UL_HASH_BYTES);
    size_t acked = 0, built = 0;
    for (size_t k = 0; k < MAX_SUBS; k++) {
        acked += s->s[k].acked, built += s->s[k].built;
    }
    if (verbose || s->fail[0]) {
        fprintf(stderr, "nodesim: seed %" PRIu64 ": %zu of %zu transactions acknowledged\n", seed,
                acked, built);
        fprintf(stderr,
                "nodesim: seed %" PRIu64 ": n=%zu byz=%d%s%s%s%s%s loss=%u%% dup=%u%% delay<=%ums "
                "heal at %" PRIu64 " ms, done at %" PRIu64 " ms; crashes %" PRIu64
                ", partitions %" PRIu64 ", full disks %" PRIu64 ", corrupt reads %" PRIu64
                ", audits %" PRIu64 "; msgs %" PRIu64 " dropped %" PRIu64 " dup %" PRIu64
                " queries %" PRIu64 "; height %" PRIu64 "\n",
                seed, n, __builtin_popcount(w->byz_mask), w->f.claim && w->byz < n ? " claim" : "",
                w->f.withhold && w->byz < n ? " withhold" : "",
                w->f.silent && w->byz < n ? " silent" : "",
                w->f.flood && w->byz < n ? " flood" : "", w->f.twin && w->byz < n ? " twin" : "",
                w->f.drop_pct, w->f.dup_pct, w->f.delay_max, s->heal_at, w->now - start, s->n_crash,
                s->n_part, s->n_full, s->n_corrupt, s->n_audit, w->n_msgs, w->n_drop, w->n_dup,
                w->n_query, ul_chain_height(w->node[0].node.chain));
    }
    if (s->fail[0]) {
        sim_log_dump(w);
        nodes_dump(s);
    }
    world_free(s);
    return s->fail[0] == '\0';
}

static void usage(void)
{
    fprintf(stderr,
            "usage: nodesim --seeds N [--first S] [--n 4|7] [--sign-full]\n"
            "       nodesim --seed S [--n 4|7] [--sign-full] [-v]   (replay one seed)\n"
            "--sign-full: a full disk also refuses sign-state writes (else: even seeds only)\n");
}

int main(int argc, char **argv)
{
    uint64_t first = 1, count = 100;
    size_t n = 4;
    int verbose = 0;
    bool one = false;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "-v") == 0) {
            verbose = 1;
        } else if (strcmp(argv[i], "--sign-full") == 0) {
            g_sign_full = true;
        } else if (strcmp(argv[i], "--seeds") == 0 && v) {
            count = strtoull(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--first") == 0 && v) {
            first = strtoull(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--seed") == 0 && v) {
            first = strtoull(argv[++i], NULL, 10), count = 1, one = true;
        } else if (strcmp(argv[i], "--n") == 0 && v) {
            n = (size_t)strtoull(argv[++i], NULL, 10);
        } else {
            usage();
            return 2;
        }
    }
    if (n != 4 && n != 7) {
        usage();
        return 2;
    }
    sim_random_install();
    for (size_t v = 0; v < SIM_MAXN; v++) {
        g_keys[v] = ul_chainfx_key("upledger nodesim", 1 + (unsigned)v);
    }
    for (size_t c = 0; c < MAX_CLIENTS; c++) {
        g_owners[c] = ul_chainfx_key("upledger nodesim client", 1 + (unsigned)c);
    }
    sim *s = calloc(1, sizeof *s);
    if (!s) {
        return 1;
    }
    uint64_t passed = 0, failed = 0;
    uint8_t d1[UL_HASH_BYTES], d2[UL_HASH_BYTES];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (uint64_t seed = first; seed < first + count; seed++) {
        bool ok = run(s, seed, n, verbose, d1);
        if (ok && seed == first) { /* the same seed twice: the same stores, byte for byte */
            ok = run(s, seed, n, 0, d2) && memcmp(d1, d2, sizeof d1) == 0;
            if (!ok) {
                fprintf(stderr, "nodesim: seed %" PRIu64 " is not deterministic\n", seed);
            }
        }
        if (!ok) {
            fprintf(stderr,
                    "nodesim: seed %" PRIu64 " FAILED: %s\n  replay: build/nodesim --seed %" PRIu64
                    " --n %zu -v\n",
                    seed, s->fail, seed, n);
        }
        passed += ok, failed += !ok;
        if (one) {
            char hex[2 * UL_HASH_BYTES + 1];
            ul_hex_encode(hex, d1, UL_HASH_BYTES);
            printf("nodesim: seed %" PRIu64 " digest %s\n", seed, hex);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("nodesim: %" PRIu64 " seeds (n=%zu), %" PRIu64 " passed, %" PRIu64
           " failed, %.1f seeds/s\n",
           count, n, passed, failed, secs > 0 ? (double)count / secs : 0.0);
    free(s);
    return failed ? 1 : 0;
}
