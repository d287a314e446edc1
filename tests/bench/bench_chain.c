/* Chain benchmark, in process: a one-validator dev chain built from N pre-signed publish txs in
 * synced blocks of UL_MAX_BLOCK_TXS (commits/s), an audit of that chain (releases/s), LevelDB
 * bytes per release, and the cost of the pieces (submit, produce, verify, decode, fsync).
 * Usage: bench_chain DIR [N]. DIR is created and must not hold a chain; the chain stays in
 * DIR/db so `upledger audit --data DIR` can re-read it. Prints "bench: <name>: <value> <unit>".
 */
#include <errno.h>
#include <sys/stat.h>

#include "bench_util.h"

#define DEFAULT_TXS 50000
#define MICRO_SAMPLE 5000 /* txs used for the verify/decode micro figures */
#define FSYNC_WRITES 200  /* small synced batches timed for the fsync figure */
#define SMALL_BLOCKS 500  /* one-release blocks for the per-block growth figure */

typedef struct {
    const char *dir;
    char db[4096];
    size_t n;
    ul_key *key;
    uint8_t *genesis;
    size_t glen;
    ul_chain *chain;
    bench_txs txs;
} bench;

static void fig(const char *name, double v, const char *unit)
{
    printf("bench: %s: %.*f %s\n", name, v >= 100 ? 0 : v >= 10 ? 1 : 2, v, unit);
}

static void fig_u(const char *name, uint64_t v, const char *unit)
{
    printf("bench: %s: %llu %s\n", name, (unsigned long long)v, unit);
}

static int fail(const char *what, ul_err e)
{
    fprintf(stderr, "bench_chain: %s: %s (%s)\n", what, ul_err_str(e), ul_err_name(e));
    return 1;
}

/* One validator, power 1; the genesis time is now so block times look real. */
static int make_genesis(bench *b)
{
    b->genesis = malloc(UL_MAX_VALSET_BYTES + 256);
    if (!b->genesis) {
        return fail("genesis", UL_E_NOMEM);
    }
    ul_err e = bench_genesis_one(&b->key, "upledger-bench", b->genesis, UL_MAX_VALSET_BYTES + 256,
                                 &b->glen);
    return e != UL_OK ? fail("genesis", e) : 0;
}

/* Commits the namespace registrations in c's next block. */
static int register_ns(bench *b, ul_chain *c)
{
    uint8_t body[UL_MAX_RECORD_BYTES], tx[UL_MAX_TX_BYTES], id[UL_HASH_BYTES];
    size_t blen, tlen;
    /* The namespace, then the one its releases depend on (higher nonce, same key). */
    for (uint64_t nonce = 1; nonce <= 2; nonce++) {
        ul_err e = nonce == 1
                       ? bench_register_body(body, sizeof body, &blen, ul_key_pubkey(b->key), 1)
                       : bench_register_ns_body(body, sizeof body, &blen, ul_key_pubkey(b->key),
                                                BENCH_DEP_NS, 2);
        if (e ||
            (e = bench_sign_tx(b->key, ul_chain_id(c), UL_TX_REGISTER, body, blen, tx, sizeof tx,
                               &tlen)) ||
            (e = ul_chain_submit(c, tx, tlen, id))) {
            return fail("register namespace", e);
        }
    }
    ul_err e = ul_chain_produce(c, b->key, bench_wall_ms(), NULL);
    return e != UL_OK ? fail("register namespace", e) : 0;
}

/* Opens a new chain and commits the namespace registration in block 1. */
static int open_chain(bench *b)
{
    if (mkdir(b->dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "bench_chain: cannot create %s\n", b->dir);
        return 1;
    }
    ul_err e = ul_chain_open(&b->chain, b->db, b->genesis, b->glen);
    if (e != UL_OK) {
        return fail("open chain", e);
    }
    if (ul_chain_height(b->chain) != 0) {
        fprintf(stderr, "bench_chain: %s already holds a chain\n", b->db);
        return 1;
    }
    return register_ns(b, b->chain);
}

/* Target 1(a) and 4: submit every tx, produce a synced block every UL_MAX_BLOCK_TXS. */
static int build(bench *b)
{
    double submit_s = 0, produce_s = 0, t0 = bench_now_s();
    uint64_t blocks = 0;
    uint8_t id[UL_HASH_BYTES];
    for (size_t i = 0; i < b->n; i++) {
        double s0 = bench_now_s();
        ul_err e = ul_chain_submit(b->chain, bench_tx(&b->txs, i), b->txs.len[i], id);
        double s1 = bench_now_s();
        submit_s += s1 - s0;
        if (e != UL_OK) {
            fprintf(stderr, "bench_chain: tx %zu: ", i);
            return fail("submit", e);
        }
        if (ul_chain_pending_count(b->chain) == UL_MAX_BLOCK_TXS || i + 1 == b->n) {
            if ((e = ul_chain_produce(b->chain, b->key, bench_wall_ms(), NULL)) != UL_OK) {
                return fail("produce", e);
            }
            produce_s += bench_now_s() - s1;
            blocks++;
        }
    }
    double dt = bench_now_s() - t0;
    fig_u("chain releases committed", b->n, "releases");
    fig_u("chain publish blocks (synced, <= 2048 txs)", blocks, "blocks");
    fig("chain build time", dt, "s");
    fig("release commits/s in-process (submit + synced produce)", bench_rate(b->n, dt), "/s");
    fig("ul_chain_submit per publish tx", 1e6 * submit_s / b->n, "us");
    fig("ul_chain_produce per block", 1e3 * produce_s / blocks, "ms");
    fig("ul_chain_produce per tx", 1e6 * produce_s / b->n, "us");
    return 0;
}

/* Target 2: replay the whole chain into a scratch store. */
static int audit(bench *b)
{
    char scratch[4200];
    bench_source s = {.chain = b->chain};
    ul_audit_result res;
    snprintf(scratch, sizeof scratch, "%s/audit-scratch", b->dir);
    double t0 = bench_now_s();
    ul_err e = ul_audit_run(b->genesis, b->glen, bench_next_block, &s, scratch, NULL, NULL, &res);
    double dt = bench_now_s() - t0;
    if (e != UL_OK) {
        fprintf(stderr, "bench_chain: audit failed at height %llu\n",
                (unsigned long long)res.fail_height);
        return fail("audit", e);
    }
    uint8_t root[UL_HASH_BYTES];
    ul_log_root(ul_chain_log(b->chain), root);
    if (res.releases != b->n || memcmp(root, res.log_root, UL_HASH_BYTES) != 0) {
        fprintf(stderr, "bench_chain: audit result does not match the chain\n");
        return 1;
    }
    fig_u("audit blocks", res.height, "blocks");
    fig("audit time", dt, "s");
    fig("audit releases/s (ul_audit_run)", bench_rate(res.releases, dt), "/s");
    fig("audit per release", 1e6 * dt / res.releases, "us");
    fig("audit block source reads (of the above)", 1e6 * s.read_s / res.releases, "us/release");
    fig_u("audit scratch store bytes", ul_store_disk_bytes(scratch), "bytes");
    return 0;
}

/* Target 4: one signature verify, and the decoding and hashing submit does around it. */
static int micro(bench *b)
{
    size_t n = b->n < MICRO_SAMPLE ? b->n : MICRO_SAMPLE;
    double dec_tx = 0, dec_rel = 0, hash = 0, verify = 0;
    const uint8_t *cid = ul_chain_id(b->chain);
    for (size_t i = 0; i < n; i++) {
        ul_tx t;
        static ul_release r;
        uint8_t id[UL_HASH_BYTES];
        double t0 = bench_now_s();
        ul_err e = ul_schema_tx_decode(&t, bench_tx(&b->txs, i), b->txs.len[i]);
        double t1 = bench_now_s();
        if (e == UL_OK) {
            e = ul_schema_release_decode(&r, t.body.ptr, t.body.len);
        }
        double t2 = bench_now_s();
        ul_client_sha256(id, t.body.ptr, t.body.len);
        double t3 = bench_now_s();
        if (e == UL_OK) {
            e = ul_client_sig_verify(t.sigs[0].sig, UL_DOMAIN_RELEASE, cid, t.body.ptr, t.body.len,
                                     t.sigs[0].pubkey);
        }
        double t4 = bench_now_s();
        if (e != UL_OK) {
            return fail("micro: decode or verify", e);
        }
        dec_tx += t1 - t0;
        dec_rel += t2 - t1;
        hash += t3 - t2;
        verify += t4 - t3;
    }
    fig("ul_key_sign + tx encode per tx (pre-signing)", 1e6 * b->txs.sign_s / b->n, "us");
    fig("ul_client_sig_verify", 1e6 * verify / n, "us");
    fig("signature verifies/s on one core", bench_rate(n, verify), "/s");
    fig("ul_schema_tx_decode", 1e6 * dec_tx / n, "us");
    fig("ul_schema_release_decode", 1e6 * dec_rel / n, "us");
    fig("SHA-256 of the record (release id)", 1e6 * hash / n, "us");
    return 0;
}

/* The cost of one fsync'd LevelDB write, the floor under every synced block. */
static int fsync_cost(bench *b)
{
    char path[4200];
    ul_store *s = NULL;
    ul_batch *wb = ul_batch_create();
    snprintf(path, sizeof path, "%s/fsync-probe", b->dir);
    ul_err e = wb ? ul_store_open(&s, path, true, 0) : UL_E_NOMEM;
    double t0 = bench_now_s();
    for (int i = 0; e == UL_OK && i < FSYNC_WRITES; i++) {
        uint8_t k[9] = {'Z'}, v[64] = {0};
        ul_be64_put(k + 1, (uint64_t)i);
        ul_batch_put(wb, k, sizeof k, v, sizeof v);
        e = ul_store_write(s, wb, true);
        ul_batch_clear(wb);
    }
    double dt = bench_now_s() - t0;
    ul_store_close(s);
    ul_batch_destroy(wb);
    if (e != UL_OK) {
        return fail("fsync probe", e);
    }
    fig("synced LevelDB write of a small batch (fsync floor)", 1e3 * dt / FSYNC_WRITES, "ms");
    return 0;
}

static void disk_fig(bench *b, const char *when, uint64_t bytes)
{
    char name[160];
    snprintf(name, sizeof name, "store bytes %s", when);
    fig_u(name, bytes, "bytes");
    snprintf(name, sizeof name, "store bytes per release %s", when);
    fig(name, (double)bytes / b->n, "bytes");
    snprintf(name, sizeof name, "store bytes / record bytes %s", when);
    printf("bench: %s: %.2f x\n", name, (double)bytes / b->txs.body_bytes);
    snprintf(name, sizeof name, "store bytes / tx bytes %s", when);
    printf("bench: %s: %.2f x\n", name, (double)bytes / b->txs.tx_bytes);
}

/* Target 3: bytes on disk per release, live, after a close (the WAL replayed into a table on
 * the next open) and after a final close that waits for background compaction. */
static int disk(bench *b, bool final)
{
    if (!final) {
        fig("mean canonical record body", (double)b->txs.body_bytes / b->n, "bytes");
        fig("mean signed publish tx", (double)b->txs.tx_bytes / b->n, "bytes");
        disk_fig(b, "(chain open, after build)", ul_store_disk_bytes(b->db));
        ul_chain_close(b->chain);
        b->chain = NULL;
        disk_fig(b, "(after close)", ul_store_disk_bytes(b->db));
        ul_err e = ul_chain_open(&b->chain, b->db, NULL, 0);
        if (e != UL_OK) {
            return fail("reopen chain", e);
        }
        disk_fig(b, "(after reopen)", ul_store_disk_bytes(b->db));
        return 0;
    }
    /* LevelDB's size at any instant includes its log and tables mid-compaction; a full
     * compaction leaves the data alone, which is what the target is about. */
    ul_store_compact(ul_chain_store(b->chain));
    ul_chain_close(b->chain);
    b->chain = NULL;
    disk_fig(b, "(settled: compacted, closed)", ul_store_disk_bytes(b->db));
    return 0;
}

/* Store growth when every block holds one release (a consortium's usual pace, where state
 * writes per block, not per release, dominate): SMALL_BLOCKS blocks on a second chain of the same
 * genesis, bytes per block after a full compaction, and of those the state history ('Y': every
 * version of every state value, so every past state root stays provable). */
static int small_blocks(bench *b)
{
    char db[4200];
    ul_chain *c = NULL;
    uint8_t id[UL_HASH_BYTES], prefix[1] = {UL_KEY_STATEHIST};
    size_t n = b->n < SMALL_BLOCKS ? b->n : SMALL_BLOCKS;
    snprintf(db, sizeof db, "%s/small", b->dir);
    ul_err e = ul_chain_open(&c, db, b->genesis, b->glen);
    if (e == UL_OK && register_ns(b, c) != 0) {
        ul_chain_close(c);
        return 1;
    }
    for (size_t i = 0; e == UL_OK && i < n; i++) {
        if ((e = ul_chain_submit(c, bench_tx(&b->txs, i), b->txs.len[i], id)) == UL_OK) {
            e = ul_chain_produce(c, b->key, bench_wall_ms(), NULL);
        }
    }
    uint64_t hist = 0, entries = 0;
    ul_store_iter *it = NULL;
    if (e == UL_OK &&
        (e = ul_store_iter_create(&it, ul_chain_store(c), prefix, 1, prefix, 1)) == UL_OK) {
        const uint8_t *k, *v;
        size_t kl, vl;
        while (ul_store_iter_next(it, &k, &kl, &v, &vl)) {
            hist += kl + vl;
            entries++;
        }
        ul_store_iter_destroy(it);
    }
    if (e == UL_OK) {
        ul_store_compact(ul_chain_store(c));
    }
    ul_chain_close(c);
    if (e != UL_OK) {
        return fail("one-release blocks", e);
    }
    uint64_t bytes = ul_store_disk_bytes(db);
    fig_u("one-release blocks", n, "blocks");
    fig("store bytes per one-release block (compacted)", (double)bytes / n, "bytes");
    fig("state history entries per one-release block", (double)entries / n, "entries");
    fig("state history bytes per one-release block (keys + values)", (double)hist / n, "bytes");
    return 0;
}

int main(int argc, char **argv)
{
    bench b = {0};
    int rc = 1;
    if (argc < 2 || argc > 3 || ul_client_init() != UL_OK) {
        fprintf(stderr, "usage: bench_chain DIR [N]\n");
        return 2;
    }
    b.dir = argv[1];
    b.n = argc > 2 ? strtoul(argv[2], NULL, 10) : DEFAULT_TXS;
    snprintf(b.db, sizeof b.db, "%s/db", b.dir);
    if (b.n == 0) {
        fprintf(stderr, "bench_chain: N must be >= 1\n");
        return 2;
    }
    if (make_genesis(&b) != 0 || open_chain(&b) != 0) {
        goto out;
    }
    double t0 = bench_now_s();
    if (bench_txs_make(&b.txs, b.key, ul_chain_id(b.chain), 0, b.n) != 0) {
        goto out;
    }
    fig("pre-signing txs", bench_now_s() - t0, "s");
    if (build(&b) != 0 || disk(&b, false) != 0 || audit(&b) != 0 || micro(&b) != 0 ||
        fsync_cost(&b) != 0 || disk(&b, true) != 0 || small_blocks(&b) != 0) {
        goto out;
    }
    rc = 0;
out:
    bench_txs_free(&b.txs);
    ul_chain_close(b.chain);
    ul_key_destroy(b.key);
    free(b.genesis);
    return rc;
}
