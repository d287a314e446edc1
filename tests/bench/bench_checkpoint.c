/* Freshness without empty blocks (docs/protocol.md 7.4), in figures:
 *
 *   bench_checkpoint DIR RELEASES [PER_BLOCK] [ITERS]
 *
 * builds in DIR a 4-validator chain with a year of activity and no heartbeat blocks: RELEASES
 * releases (default 100000, one every ~5 minutes) in blocks of PER_BLOCK (default 1: at that
 * rate every release is alone in its block), block times spread over 365 days. Then it prints
 *   - what a device verifies for the head's bundle with the commit and with a checkpoint
 *     instead (signatures, bytes, verify time over ITERS runs, default 200);
 *   - how long a new node takes to catch up on the chain: every block and commit read from the
 *     chain and applied to a new one (ul_chain_apply: the commit's signatures checked, every tx
 *     executed again, one synced write per block, as block sync does; the network is left out);
 *   - the same rate on empty blocks, times the 15.8 million heartbeat blocks a 2 s heartbeat
 *     made in a year: what the checkpoints save a new node.
 * Prints "bench: <name>: <value> <unit>"; figures only. tests/bench/run.sh runs it. */
#include <sys/stat.h>

#include "bench_util.h"
#include "client/ul_client.h"

#define NV 4
#define YEAR_MS (365ULL * 24 * 3600 * 1000)
#define BATCH 2048                  /* releases signed at a time */
#define EMPTY_BLOCKS 2000           /* empty blocks applied to measure their rate */
#define HEARTBEATS_YEAR 15768000ULL /* one every 2 s for 365 days */
#define HW "acme-router-x1-rev-a"

typedef struct {
    ul_key *keys[NV];
    uint8_t genesis[UL_MAX_VALSET_BYTES + 256];
    size_t glen;
    ul_chain *chain;
    uint64_t t0, step_ms, now_ms;
} net;

static int fail(const char *what, ul_err e)
{
    fprintf(stderr, "bench_checkpoint: %s: %s (%s)\n", what, ul_err_name(e), ul_err_str(e));
    return 1;
}

static void fig(const char *name, double v, const char *unit)
{
    printf("bench: %s: %.*f %s\n", name, v < 10 ? 2 : 0, v, unit);
}

static int key_cmp(const void *a, const void *b)
{
    return memcmp(ul_key_pubkey(*(ul_key *const *)a), ul_key_pubkey(*(ul_key *const *)b),
                  UL_PUBKEY_BYTES);
}

static ul_err open_at(ul_chain **c, const char *dir, const char *name, const net *n)
{
    char db[4096];
    snprintf(db, sizeof db, "%s/%s", dir, name);
    return ul_chain_open(c, db, n->genesis, n->glen);
}

static int net_open(net *n, const char *dir, uint64_t blocks)
{
    static ul_genesis g;
    memset(n, 0, sizeof *n);
    for (size_t i = 0; i < NV; i++) {
        ul_err e = ul_key_generate(&n->keys[i]);
        if (e != UL_OK) {
            return fail("keygen", e);
        }
    }
    qsort(n->keys, NV, sizeof n->keys[0], key_cmp);
    n->t0 = bench_wall_ms() - YEAR_MS - 3600 * 1000;
    n->now_ms = n->t0;
    n->step_ms = YEAR_MS / (blocks ? blocks : 1);
    memset(&g, 0, sizeof g);
    g.version = 1;
    g.name = ul_span_str("bench-checkpoint");
    g.time_ms = n->t0;
    g.validators.n = NV;
    for (size_t i = 0; i < NV; i++) {
        memcpy(g.validators.v[i].pubkey, ul_key_pubkey(n->keys[i]), UL_PUBKEY_BYTES);
        g.validators.v[i].power = 1;
    }
    ul_err e = ul_schema_genesis_encode(n->genesis, sizeof n->genesis, &n->glen, &g);
    if (e == UL_OK) {
        e = open_at(&n->chain, dir, "year", n);
    }
    return e == UL_OK ? 0 : fail("chain", e);
}

static int commit(net *n)
{
    n->now_ms += n->step_ms;
    ul_err e = bench_commit_by(n->chain, n->keys, NV, n->now_ms);
    return e == UL_OK ? 0 : fail("commit", e);
}

/* Registers BENCH_DEP_NS and BENCH_NS (keys[0] owns and publishes both) in one block. */
static int register_both(net *n)
{
    uint8_t body[UL_MAX_RECORD_BYTES], tx[UL_MAX_TX_BYTES], id[UL_HASH_BYTES];
    size_t blen, tlen;
    for (uint64_t nonce = 1; nonce <= 2; nonce++) {
        ul_err e = bench_register_ns_body(body, sizeof body, &blen, ul_key_pubkey(n->keys[0]),
                                          nonce == 1 ? BENCH_DEP_NS : BENCH_NS, nonce);
        if (e == UL_OK) {
            e = bench_sign_tx(n->keys[0], ul_chain_id(n->chain), UL_TX_REGISTER, body, blen, tx,
                              sizeof tx, &tlen);
        }
        if (e == UL_OK) {
            e = ul_chain_submit(n->chain, tx, tlen, id);
        }
        if (e != UL_OK) {
            return fail("register", e);
        }
    }
    return commit(n);
}

/* RELEASES releases, PER_BLOCK a block. Out: the last release's id. */
static int build(net *n, size_t releases, size_t per_block, uint8_t last[UL_HASH_BYTES])
{
    double t0 = bench_now_s();
    for (size_t first = 0; first < releases; first += BATCH) {
        bench_txs txs;
        size_t m = releases - first < BATCH ? releases - first : BATCH;
        if (bench_txs_make(&txs, n->keys[0], ul_chain_id(n->chain), first, m)) {
            return 1;
        }
        for (size_t i = 0; i < txs.n; i++) {
            ul_err e = ul_chain_submit(n->chain, bench_tx(&txs, i), txs.len[i], last);
            if (e != UL_OK) {
                bench_txs_free(&txs);
                return fail("publish", e);
            }
            if ((first + i + 1) % per_block == 0 && commit(n)) {
                bench_txs_free(&txs);
                return 1;
            }
        }
        bench_txs_free(&txs);
    }
    if (ul_chain_pending_count(n->chain) > 0 && commit(n)) {
        return 1;
    }
    fprintf(stderr, "bench_checkpoint: built %llu blocks (%zu releases) in %.0f s\n",
            (unsigned long long)ul_chain_height(n->chain), releases, bench_now_s() - t0);
    return 0;
}

/* Signatures, bytes and verify time of the head's bundle for the last release, as it is now. */
static int device_figures(net *n, const uint8_t id[UL_HASH_BYTES], const char *form, int iters)
{
    static ul_device_state st;
    static ul_update u;
    static ul_section s;
    uint8_t *b = NULL;
    size_t len = 0, off = 0, head, sigs = 0;
    uint64_t body;
    char name[128];
    ul_err e = ul_chain_bundle(n->chain, id, ul_span_str(HW), 0, &b, &len);
    if (e == UL_OK) {
        e = ul_client_device_init(&st, n->genesis, n->glen, (const uint8_t *)HW, strlen(HW));
    }
    if (e == UL_OK) {
        e = ul_client_device_add(&st, (const uint8_t *)BENCH_DEP_NS, strlen(BENCH_DEP_NS),
                                 (const uint8_t *)"2.1.0", 5, 1);
    }
    while (e == UL_OK && off < len &&
           (e = ul_schema_section_frame(b + off, len - off, &head, &body)) == UL_OK &&
           (e = ul_schema_section_decode(&s, b + off + head, (size_t)body)) == UL_OK) {
        sigs += s.type == UL_SEC_VOTER && s.u.voter.has_sig;
        sigs += s.type == UL_SEC_SIG;
        off += head + (size_t)body;
    }
    double t0 = bench_now_s();
    for (int i = 0; e == UL_OK && i < iters; i++) {
        e = ul_client_bundle_verify(&u, NULL, &st, (const uint8_t *)BENCH_NS, strlen(BENCH_NS), b,
                                    len);
    }
    double dt = (bench_now_s() - t0) / (iters > 0 ? iters : 1);
    free(b);
    if (e != UL_OK) {
        return fail(form, e);
    }
    snprintf(name, sizeof name, "device bundle with %s: signatures verified", form);
    fig(name, (double)sigs, "");
    snprintf(name, sizeof name, "device bundle with %s: bytes", form);
    fig(name, (double)len, "B");
    snprintf(name, sizeof name, "device bundle with %s: verify", form);
    fig(name, dt * 1e6, "us");
    return 0;
}

/* A checkpoint of the head signed by every validator, an hour after its header. */
static int checkpoint_head(net *n)
{
    static ul_checkpoint cp;
    uint8_t *hdr = NULL, vb[UL_MAX_VOTE_BYTES];
    size_t hlen = 0, vlen = 0;
    memset(&cp, 0, sizeof cp);
    cp.v.height = ul_chain_height(n->chain);
    cp.v.time_ms = n->now_ms + 3600 * 1000;
    ul_err e = ul_chain_header_bytes(n->chain, cp.v.height, &hdr, &hlen);
    if (e == UL_OK) {
        ul_client_sha256(cp.v.header_hash, hdr, hlen);
        e = ul_schema_checkpoint_vote_encode(vb, sizeof vb, &vlen, &cp.v);
    }
    for (size_t i = 0; e == UL_OK && i < NV; i++) {
        cp.sigs[i].index = i;
        e = ul_key_sign(n->keys[i], cp.sigs[i].sig, UL_DOMAIN_CHECKPOINT, ul_chain_id(n->chain), vb,
                        vlen);
    }
    cp.n_sigs = NV;
    free(hdr);
    if (e == UL_OK) {
        e = ul_chain_checkpoint_put(n->chain, &cp);
    }
    return e == UL_OK ? 0 : fail("checkpoint", e);
}

/* Applies blocks 1..src's head of src to dst as block sync does. Out: seconds. */
static int apply_all(ul_chain *src, ul_chain *dst, uint64_t from, double *secs)
{
    double t0 = bench_now_s();
    for (uint64_t h = from; h <= ul_chain_height(src); h++) {
        uint8_t *blk = NULL, *cm = NULL;
        size_t blen = 0, clen = 0;
        ul_err e = ul_chain_block_bytes(src, h, &blk, &blen);
        if (e == UL_OK && (e = ul_chain_commit_bytes(src, h, &cm, &clen)) == UL_OK) {
            e = ul_chain_apply(dst, blk, blen, cm, clen);
        }
        free(blk);
        free(cm);
        if (e != UL_OK) {
            return fail("apply", e);
        }
    }
    *secs = bench_now_s() - t0;
    return 0;
}

/* Catches a new node (*fresh, left open) up on the year chain and prints how long it took. */
static int catch_up(net *n, const char *dir, size_t releases, ul_chain **fresh)
{
    double secs = 0;
    uint64_t blocks = ul_chain_height(n->chain);
    char db[4096];
    ul_err e = open_at(fresh, dir, "new-node", n);
    if (e != UL_OK) {
        return fail("new node", e);
    }
    if (apply_all(n->chain, *fresh, 1, &secs)) {
        return 1;
    }
    snprintf(db, sizeof db, "%s/year", dir);
    fig("year chain: releases", (double)releases, "");
    fig("year chain: blocks (no heartbeats)", (double)blocks, "");
    fig("year chain: store size", (double)ul_store_disk_bytes(db) / 1048576.0, "MiB");
    fig("catch-up of a new node on the year chain (apply every block, network left out)", secs,
        "s (target < 300 s)");
    fig("catch-up rate", bench_rate((double)blocks, secs), "blocks/s");
    return 0;
}

/* The rate of applying empty blocks (made on the year chain, applied by the caught-up node),
 * and what a year of 2 s heartbeats would cost at it. */
static int heartbeat_cost(net *n, ul_chain *fresh)
{
    double secs = 0;
    uint64_t before = ul_chain_height(n->chain);
    n->step_ms = 2000;
    for (int i = 0; i < EMPTY_BLOCKS; i++) {
        if (commit(n)) {
            return 1;
        }
    }
    if (apply_all(n->chain, fresh, before + 1, &secs)) {
        return 1;
    }
    double per = secs / EMPTY_BLOCKS;
    fig("empty (heartbeat) block catch-up", per * 1e6, "us/block");
    fig("catch-up of a year of 2 s heartbeats (15.8 M empty blocks) at that rate",
        per * (double)HEARTBEATS_YEAR / 3600.0, "h");
    return 0;
}

int main(int argc, char **argv)
{
    static net n;
    uint8_t last[UL_HASH_BYTES];
    if (argc < 3 || argc > 5) {
        fprintf(stderr, "usage: bench_checkpoint DIR RELEASES [PER_BLOCK] [ITERS]\n");
        return 2;
    }
    const char *dir = argv[1];
    size_t releases = strtoul(argv[2], NULL, 10);
    size_t per_block = argc > 3 ? strtoul(argv[3], NULL, 10) : 1;
    int iters = argc > 4 ? (int)strtoul(argv[4], NULL, 10) : 200;
    if (releases == 0 || per_block == 0 || mkdir(dir, 0700) != 0 || ul_client_init() != UL_OK) {
        fprintf(stderr, "bench_checkpoint: bad arguments, or %s exists\n", dir);
        return 2;
    }
    if (net_open(&n, dir, releases / per_block + 1) || register_both(&n) ||
        build(&n, releases, per_block, last)) {
        return 1;
    }
    ul_chain *fresh = NULL;
    int rc = device_figures(&n, last, "commit", iters) || checkpoint_head(&n) ||
             device_figures(&n, last, "checkpoint", iters) || catch_up(&n, dir, releases, &fresh) ||
             heartbeat_cost(&n, fresh);
    if (fresh) {
        ul_chain_close(fresh);
    }
    ul_chain_close(n.chain);
    for (size_t i = 0; i < NV; i++) {
        ul_key_destroy(n.keys[i]);
    }
    return rc;
}
