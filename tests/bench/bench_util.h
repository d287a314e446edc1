/* Helpers shared by the chain and node benchmarks: clocks, realistic release records and
 * pre-signed publish transactions. A header of static inline functions because the Makefile
 * turns every .c file under tests/bench into its own binary. */
#ifndef UL_BENCH_UTIL_H
#define UL_BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger/ul_ledger.h"

#define BENCH_NS "acme/router-x1"
#define BENCH_DEP_NS "acme/bootloader"
/* Release times start at 2026-01-01 and move a minute per release. */
#define BENCH_TIME0 1767225600ULL

static inline double bench_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline uint64_t bench_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static inline double bench_rate(double count, double secs)
{
    return count / (secs > 0 ? secs : 1e-9);
}

/* An audit's block source (ul_block_source) over a chain in this process: its committed blocks
 * and commits, UL_E_NOT_FOUND past the head. read_s adds up the time spent reading them. */
typedef struct {
    ul_chain *chain;
    double read_s;
} bench_source;

static inline ul_err bench_next_block(void *arg, uint64_t h, uint8_t **blk, size_t *blen,
                                      uint8_t **cm, size_t *clen)
{
    bench_source *s = arg;
    double t0 = bench_now_s();
    if (h > ul_chain_height(s->chain)) {
        return UL_E_NOT_FOUND;
    }
    ul_err e = ul_chain_block_bytes(s->chain, h, blk, blen);
    if (e == UL_OK && (e = ul_chain_commit_bytes(s->chain, h, cm, clen)) != UL_OK) {
        free(*blk);
    }
    s->read_s += bench_now_s() - t0;
    return e;
}

/* A genesis of one validator of power 1, a new key, timed now so block times look real.
 * Out: *key (the caller destroys it), the genesis in out[cap] (*len). */
static inline ul_err bench_genesis_one(ul_key **key, const char *name, uint8_t *out, size_t cap,
                                       size_t *len)
{
    ul_genesis g = {.version = 1,
                    .name = ul_span_str(name),
                    .time_ms = bench_wall_ms(),
                    .validators = {.n = 1}};
    ul_err e = ul_key_generate(key);
    if (e != UL_OK) {
        return e;
    }
    memcpy(g.validators.v[0].pubkey, ul_key_pubkey(*key), UL_PUBKEY_BYTES);
    g.validators.v[0].power = 1;
    return ul_schema_genesis_encode(out, cap, len, &g);
}

/* Canonical register body for namespace ns with the default policy: pub as the only owner and
 * publisher (threshold 1), no co-signer roles (every release installable at once), any hardware
 * class, owners and publishers may revoke. */
static inline ul_err bench_register_ns_body(uint8_t *out, size_t cap, size_t *len,
                                            const uint8_t pub[UL_PUBKEY_BYTES], const char *ns,
                                            uint64_t nonce)
{
    static ul_register r; /* a policy is a few KB: keep it off the stack */
    memset(&r, 0, sizeof r);
    r.ns = ul_span_str(ns);
    r.nonce = nonce;
    r.policy.owners.n = r.policy.publishers.n = 1;
    r.policy.owners.threshold = r.policy.publishers.threshold = 1;
    memcpy(r.policy.owners.keys[0], pub, UL_PUBKEY_BYTES);
    memcpy(r.policy.publishers.keys[0], pub, UL_PUBKEY_BYTES);
    r.policy.n_revokers = 2;
    r.policy.revokers[0] = ul_span_str("owners");
    r.policy.revokers[1] = ul_span_str("publishers");
    return ul_schema_register_encode(out, cap, len, &r);
}

/* Canonical register body for BENCH_NS (see bench_register_ns_body). Releases name BENCH_DEP_NS
 * as a dependency, which must be registered too (bench_register_ns_body, a higher nonce) before
 * they are accepted: publish checks that dependencies name registered namespaces. */
static inline ul_err bench_register_body(uint8_t *out, size_t cap, size_t *len,
                                         const uint8_t pub[UL_PUBKEY_BYTES], uint64_t nonce)
{
    return bench_register_ns_body(out, cap, len, pub, BENCH_NS, nonce);
}

/* Release i of namespace ns, shaped like a real firmware release: provider, version, 2
 * hardware classes, a mirror link, a dependency, a file name and a kind; sequence i + 1. */
static inline ul_err bench_release_body_ns(uint8_t *out, size_t cap, size_t *len, const char *ns,
                                           uint64_t i)
{
    char version[48], file[96], link[256];
    uint8_t n8[8];
    ul_release r = {0};
    snprintf(version, sizeof version, "4.%llu.%llu", (unsigned long long)(i / 1000),
             (unsigned long long)(i % 1000));
    snprintf(file, sizeof file, "router-x1-fw-%s-signed.bin", version);
    snprintf(link, sizeof link,
             "https://updates.acme-networks.example/firmware/router-x1/stable/%s/%s", version,
             file);
    ul_be64_put(n8, i);
    ul_client_sha256(r.digest, n8, sizeof n8);
    r.ns = ul_span_str(ns);
    r.provider = ul_span_str("Acme Networks GmbH, firmware release engineering");
    r.time = BENCH_TIME0 + 60 * i;
    r.version = ul_span_str(version);
    r.seq = i + 1;
    r.size = 16777216 + 4096 * (i % 1024);
    r.file = ul_span_str(file);
    r.n_links = 1;
    r.links[0] = ul_span_str(link);
    r.n_hw = 2;
    r.hw[0] = ul_span_str("acme-router-x1-rev-a");
    r.hw[1] = ul_span_str("acme-router-x1-rev-b");
    r.n_deps = 1;
    r.deps[0].ns = ul_span_str(BENCH_DEP_NS);
    r.deps[0].constraint = ul_span_str(">=2.1.0");
    r.kind = i % (UL_KIND_MAX_ + 1);
    return ul_schema_release_encode(out, cap, len, &r);
}

/* Release i of BENCH_NS (bench_release_body_ns). */
static inline ul_err bench_release_body(uint8_t *out, size_t cap, size_t *len, uint64_t i)
{
    return bench_release_body_ns(out, cap, len, BENCH_NS, i);
}

/* A signed tx of one kind over body, signed by key for chain_id. */
static inline ul_err bench_sign_tx(const ul_key *key, const uint8_t chain_id[UL_HASH_BYTES],
                                   ul_tx_kind kind, const uint8_t *body, size_t blen, uint8_t *out,
                                   size_t cap, size_t *len)
{
    ul_tx t = {.kind = kind, .body = {body, blen}, .n_sigs = 1};
    ul_domain d = kind == UL_TX_PUBLISH ? UL_DOMAIN_RELEASE : UL_DOMAIN_TX;
    memcpy(t.sigs[0].pubkey, ul_key_pubkey(key), UL_PUBKEY_BYTES);
    ul_err e = ul_key_sign(key, t.sigs[0].sig, d, chain_id, body, blen);
    return e != UL_OK ? e : ul_schema_tx_encode(out, cap, len, &t);
}

/* Seals c's pending block (proposed by keys[0]) and commits it with a precommit from each of
 * keys[0..n) (the set signing it, in set order), timed time_ms + i: the header's time is the BFT
 * time the chain derived from the previous commit, as every node and the audit require. */
static inline ul_err bench_commit_by(ul_chain *c, ul_key *const *keys, size_t n, uint64_t time_ms)
{
    static ul_commit cm;
    static uint8_t cbytes[UL_MAX_COMMIT_BYTES];
    uint8_t hash[UL_HASH_BYTES], vote[128];
    ul_header h;
    size_t vlen, clen;
    ul_err e = ul_chain_seal(c, ul_key_pubkey(keys[0]), ul_chain_next_time(c), &h, hash);
    memset(&cm, 0, sizeof cm);
    cm.height = h.height;
    memcpy(cm.block_hash, hash, UL_HASH_BYTES);
    for (size_t i = 0; e == UL_OK && i < n; i++) {
        ul_vote v = {.type = UL_VOTE_PRECOMMIT, .height = h.height, .time_ms = time_ms + i};
        memcpy(v.block_hash, hash, UL_HASH_BYTES);
        e = ul_schema_vote_encode(vote, sizeof vote, &vlen, &v);
        cm.sigs[i].index = i;
        cm.sigs[i].time_ms = v.time_ms;
        if (e == UL_OK) {
            e = ul_key_sign(keys[i], cm.sigs[i].sig, UL_DOMAIN_VOTE, ul_chain_id(c), vote, vlen);
        }
    }
    cm.n_sigs = n;
    if (e == UL_OK && (e = ul_schema_commit_encode(cbytes, sizeof cbytes, &clen, &cm)) == UL_OK) {
        e = ul_chain_commit(c, cbytes, clen);
    }
    return e;
}

/* N pre-signed publish txs in one arena. */
typedef struct {
    size_t n;
    uint8_t *arena;
    size_t *off;
    size_t *len;
    uint64_t body_bytes; /* sum of canonical record body sizes */
    uint64_t tx_bytes;   /* sum of signed tx sizes */
    double sign_s;       /* time spent in ul_key_sign + encoding */
} bench_txs;

static inline void bench_txs_free(bench_txs *t)
{
    free(t->arena);
    free(t->off);
    free(t->len);
    memset(t, 0, sizeof *t);
}

/* Builds and signs releases first .. first + n - 1 of namespace ns. Returns 0 on success.
 * Reentrant (threads may sign different sets at once). */
static inline int bench_txs_make_ns(bench_txs *t, const ul_key *key,
                                    const uint8_t chain_id[UL_HASH_BYTES], const char *ns,
                                    uint64_t first, size_t n)
{
    uint8_t *body = malloc(UL_MAX_RECORD_BYTES);
    const size_t per = 1024; /* a release of this shape is < 500 bytes signed */
    memset(t, 0, sizeof *t);
    t->arena = malloc(n * per);
    t->off = malloc(n * sizeof *t->off);
    t->len = malloc(n * sizeof *t->len);
    if (!body || !t->arena || !t->off || !t->len) {
        free(body);
        bench_txs_free(t);
        return 1;
    }
    size_t used = 0, blen, tlen;
    for (size_t i = 0; i < n; i++) {
        ul_err e = bench_release_body_ns(body, UL_MAX_RECORD_BYTES, &blen, ns, first + i);
        double t0 = bench_now_s();
        if (e == UL_OK) {
            e = bench_sign_tx(key, chain_id, UL_TX_PUBLISH, body, blen, t->arena + used, per,
                              &tlen);
        }
        t->sign_s += bench_now_s() - t0;
        if (e != UL_OK) {
            fprintf(stderr, "bench: building release %zu: %s\n", i, ul_err_name(e));
            free(body);
            bench_txs_free(t);
            return 1;
        }
        t->off[i] = used;
        t->len[i] = tlen;
        used += tlen;
        t->body_bytes += blen;
        t->tx_bytes += tlen;
    }
    t->n = n;
    free(body);
    return 0;
}

/* Builds and signs releases first .. first + n - 1 of BENCH_NS. Returns 0 on success. */
static inline int bench_txs_make(bench_txs *t, const ul_key *key,
                                 const uint8_t chain_id[UL_HASH_BYTES], uint64_t first, size_t n)
{
    return bench_txs_make_ns(t, key, chain_id, BENCH_NS, first, n);
}

static inline const uint8_t *bench_tx(const bench_txs *t, size_t i)
{
    return t->arena + t->off[i];
}

#endif
