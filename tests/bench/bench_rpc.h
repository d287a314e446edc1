/* Query-endpoint helpers shared by the node and testnet benchmarks: the chain id from a genesis
 * file, STATUS, batch submits and waiting for a commit. A header of static inline functions
 * because the Makefile turns every .c file under tests/bench into its own binary. */
#ifndef UL_BENCH_RPC_H
#define UL_BENCH_RPC_H

#include "bench_util.h"
#include "p2p/ul_p2p.h"

#define BENCH_POLL_NS 1000000L /* 1 ms between TX_STATUS polls */

/* The chain id of a genesis file: SHA-256 of its bytes. */
static inline ul_err bench_read_chain_id(const char *genesis_path, uint8_t out32[UL_HASH_BYTES])
{
    static uint8_t buf[UL_MAX_VALSET_BYTES + 1024];
    FILE *f = fopen(genesis_path, "rb");
    if (!f) {
        return UL_E_IO;
    }
    size_t n = fread(buf, 1, sizeof buf, f);
    bool bad = ferror(f) || n == sizeof buf;
    fclose(f);
    if (bad) {
        return UL_E_IO;
    }
    ul_client_sha256(out32, buf, n);
    return UL_OK;
}

/* What STATUS tells (p2p/README.md, method 1). */
typedef struct {
    uint64_t height;
    uint8_t chain_id[UL_HASH_BYTES];
    uint64_t log_size;
    uint64_t pooled; /* 0 when the node does not report it */
    uint64_t round;  /* consensus round; 0 when not reported */
    uint64_t peer_received, peer_dropped_in, peer_send_dropped; /* peer counters, if reported */
} bench_status;

static inline ul_err bench_get_status(int sock, bench_status *st)
{
    ul_msg q, r;
    uint8_t *buf = NULL;
    ul_q_status_reply sr;
    ul_q_status_req(&q);
    memset(st, 0, sizeof *st);
    ul_err e = ul_p2p_call(sock, &q, &r, &buf);
    if (e == UL_OK && ul_q_status_reply_read(&r, &sr) != UL_OK) {
        e = UL_E_PROTOCOL;
    }
    if (e == UL_OK) {
        st->height = sr.height;
        memcpy(st->chain_id, sr.chain_id.ptr, UL_HASH_BYTES);
        st->log_size = sr.log_size;
        st->pooled = sr.pooled;
        st->round = sr.round;
        st->peer_received = sr.peer_received;
        st->peer_send_dropped = sr.send_dropped;
        st->peer_dropped_in = sr.peer_malformed + sr.peer_bad_sig + sr.peer_unknown;
    }
    ul_p2p_free(buf);
    return e;
}

/* Waits up to wait_s until id is committed. Out: *height. */
static inline ul_err bench_wait_committed(int sock, const uint8_t id[UL_HASH_BYTES], double wait_s,
                                          uint64_t *height)
{
    double deadline = bench_now_s() + wait_s;
    while (bench_now_s() < deadline) {
        ul_msg q, r;
        uint8_t *buf = NULL;
        uint64_t h = 0;
        ul_q_tx_status_reply tr;
        ul_q_tx_status_req(&q, id);
        ul_err e = ul_p2p_call(sock, &q, &r, &buf);
        if (e == UL_OK && (e = ul_q_tx_status_reply_read(&r, &tr)) == UL_OK) {
            h = tr.height;
        }
        ul_p2p_free(buf);
        if (e != UL_OK) {
            return e;
        }
        if (h > 0) {
            *height = h;
            return UL_OK;
        }
        struct timespec ts = {0, BENCH_POLL_NS};
        nanosleep(&ts, NULL);
    }
    return UL_E_TIMEOUT;
}

/* Submits n (1..UL_MAX_SUBMIT_TXS) signed txs in one request.
 * Returns: the transport's error, UL_E_PROTOCOL for a reply without one result per tx.
 * Out:     st[i]: the node's verdict on tx i (UL_OK: pooled); ids (may be NULL): their ids. */
static inline ul_err bench_submit(int sock, const ul_span *items, size_t n, ul_err *st,
                                  uint8_t (*ids)[UL_HASH_BYTES])
{
    ul_msg q, r, one;
    ul_span arr = {0}, res;
    uint8_t *buf = NULL;
    size_t i = 0;
    ul_q_submit_reply sr;
    ul_q_submit_result one_r;
    ul_q_submit_req(&q, items, n);
    ul_err e = ul_p2p_call(sock, &q, &r, &buf);
    if (e == UL_OK && (ul_q_submit_reply_read(&r, &sr) != UL_OK || sr.results.n != n)) {
        e = UL_E_PROTOCOL;
    }
    if (e == UL_OK) {
        arr = sr.results.wire;
    }
    while (e == UL_OK && i < n && ul_msg_list_next(&arr, &res)) {
        if (ul_q_submit_result_decode(&one, res, &one_r) != UL_OK) {
            e = UL_E_PROTOCOL;
            break;
        }
        st[i] = (ul_err)one_r.err;
        if (ids) {
            memcpy(ids[i], one_r.id.ptr, UL_HASH_BYTES);
        }
        i++;
    }
    ul_p2p_free(buf);
    return e == UL_OK && i != n ? UL_E_PROTOCOL : e;
}

/* Submits t's txs [first, first + n) in one request. Out: id of the last; *rejected counts
 * per-tx errors (the first is printed, prefixed by who). */
static inline ul_err bench_submit_range(int sock, const bench_txs *t, size_t first, size_t n,
                                        uint8_t last_id[UL_HASH_BYTES], size_t *rejected,
                                        const char *who)
{
    static ul_span items[UL_MAX_SUBMIT_TXS];
    static ul_err st[UL_MAX_SUBMIT_TXS];
    static uint8_t ids[UL_MAX_SUBMIT_TXS][UL_HASH_BYTES];
    for (size_t k = 0; k < n; k++) {
        items[k] = (ul_span){bench_tx(t, first + k), t->len[first + k]};
    }
    ul_err e = bench_submit(sock, items, n, st, ids);
    for (size_t k = 0; e == UL_OK && k < n; k++) {
        if (st[k] != UL_OK && (*rejected)++ == 0) {
            fprintf(stderr, "%s: tx %zu rejected: %s\n", who, first + k, ul_err_name(st[k]));
        }
    }
    if (e == UL_OK) {
        memcpy(last_id, ids[n - 1], UL_HASH_BYTES);
    }
    return e;
}

#endif
