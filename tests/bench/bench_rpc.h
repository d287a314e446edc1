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
    ul_msg_init(&q);
    ul_msg_uint(&q, 0, UL_RPC_STATUS);
    memset(st, 0, sizeof *st);
    ul_err e = ul_p2p_call(sock, &q, &r, &buf);
    if (e == UL_OK && (ul_msg_get_uint(&r, 1, &st->height) ||
                       ul_msg_get_fixed(&r, 2, st->chain_id, UL_HASH_BYTES) ||
                       ul_msg_get_uint(&r, 3, &st->log_size))) {
        e = UL_E_PROTOCOL;
    }
    if (e == UL_OK) {
        uint64_t bad[3] = {0};
        ul_msg_get_uint(&r, 4, &st->pooled); /* optional keys */
        ul_msg_get_uint(&r, 6, &st->round);
        ul_msg_get_uint(&r, 7, &st->peer_received);
        ul_msg_get_uint(&r, 8, &bad[0]);
        ul_msg_get_uint(&r, 9, &bad[1]);
        ul_msg_get_uint(&r, 10, &bad[2]);
        ul_msg_get_uint(&r, 11, &st->peer_send_dropped);
        st->peer_dropped_in = bad[0] + bad[1] + bad[2];
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
        ul_msg_init(&q);
        ul_msg_uint(&q, 0, UL_RPC_TX_STATUS);
        ul_msg_bytes(&q, 1, id, UL_HASH_BYTES);
        ul_err e = ul_p2p_call(sock, &q, &r, &buf);
        if (e == UL_OK) {
            e = ul_msg_get_uint(&r, 1, &h);
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
    ul_span arr, res;
    uint8_t *buf = NULL, id[UL_HASH_BYTES];
    size_t count, i = 0;
    uint64_t v;
    ul_msg_init(&q);
    ul_msg_uint(&q, 0, UL_RPC_SUBMIT);
    ul_msg_list(&q, 1, items, n);
    ul_err e = ul_p2p_call(sock, &q, &r, &buf);
    if (e == UL_OK && (ul_msg_get_list(&r, 1, &arr, &count) != UL_OK || count != n)) {
        e = UL_E_PROTOCOL;
    }
    while (e == UL_OK && i < n && ul_msg_list_next(&arr, &res)) {
        if (ul_msg_decode(&one, res.ptr, res.len) || ul_msg_get_uint(&one, 1, &v) ||
            ul_msg_get_fixed(&one, 2, id, UL_HASH_BYTES)) {
            e = UL_E_PROTOCOL;
            break;
        }
        st[i] = (ul_err)v;
        if (ids) {
            memcpy(ids[i], id, UL_HASH_BYTES);
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
