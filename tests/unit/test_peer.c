/* Tests of the signed peer envelope (schema/envelope.c) and the peer transport (p2p/peer.c) over
 * loopback: delivery between three nodes, every kind of bad message dropped and counted while the
 * next good one still arrives, sends that never wait, the size bound both ways and nanomsg's
 * local-address endpoints. Every wait is bounded (a watchdog alarm ends a hung test). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <nanomsg/nn.h>
#include <nanomsg/pipeline.h>

#include "p2p/ul_p2p.h"

#define WATCHDOG_S 120 /* a test that hangs is killed (and fails) instead of blocking the run */
#define TRIES 100      /* bounded waits: TRIES polls of POLL_MS */
#define POLL_MS 100

static uint8_t g_chain[UL_HASH_BYTES];
static uint8_t g_other_chain[UL_HASH_BYTES];
static ul_key *g_key[4]; /* A, B, C allowed; D never */
static uint8_t g_pub[4][UL_PUBKEY_BYTES];
static int g_ipc_n;
static char g_ipc_paths[16][128];

/* ---- helpers ------------------------------------------------------------------------------ */

/* An ipc endpoint unique to this process; its file is removed at teardown. */
static const char *ipc_endpoint(char *buf, size_t cap)
{
    assert_true(g_ipc_n < 16);
    char *path = g_ipc_paths[g_ipc_n];
    snprintf(path, sizeof g_ipc_paths[0], "/tmp/ul-test-peer-%d-%d.sock", (int)getpid(), g_ipc_n);
    g_ipc_n++;
    unlink(path);
    snprintf(buf, cap, "ipc://%s", path);
    return buf;
}

/* A tcp port on addr the kernel says is free right now (bound to port 0, then released). */
static int free_port(const char *addr)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof a;
    assert_int_equal(inet_pton(AF_INET, addr, &a.sin_addr), 1);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s >= 0);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    close(s);
    return ntohs(a.sin_port);
}

static int setup(void **state)
{
    for (int i = 0; i < 4; i++) {
        uint8_t sk[UL_SECKEY_BYTES];
        memset(sk, 0x11 * (i + 1), sizeof sk);
        if (ul_key_from_secret(&g_key[i], sk) != UL_OK) {
            return -1;
        }
        memcpy(g_pub[i], ul_key_pubkey(g_key[i]), UL_PUBKEY_BYTES);
    }
    memset(g_chain, 0xc1, sizeof g_chain);
    memset(g_other_chain, 0xc2, sizeof g_other_chain);
    return 0;
}

static int teardown(void **state)
{
    for (int i = 0; i < 4; i++) {
        ul_key_destroy(g_key[i]);
    }
    for (int i = 0; i < g_ipc_n; i++) {
        unlink(g_ipc_paths[i]);
    }
    return 0;
}

/* Signs and encodes an envelope as a peer would; returns its length. */
static size_t make_env(uint8_t *out, size_t cap, const ul_key *k, const uint8_t *chain,
                       uint64_t kind, const uint8_t *payload, size_t len)
{
    ul_envelope e = {.kind = kind, .payload = {payload, len}};
    size_t n;
    memcpy(e.from, ul_key_pubkey(k), UL_PUBKEY_BYTES);
    assert_int_equal(ul_schema_envelope_signed_encode(out, cap, &n, &e), UL_OK);
    assert_int_equal(ul_key_sign(k, e.sig, UL_DOMAIN_PEER, chain, out, n), UL_OK);
    assert_int_equal(ul_schema_envelope_encode(out, cap, &n, &e), UL_OK);
    return n;
}

/* Writes an envelope's bytes by hand (the encoder refuses what this builds past the bound):
 * {1: kind, 2: from, 3: payload of plen bytes of fill, 4: sig}. Returns the length. */
static size_t raw_env(uint8_t *out, uint8_t kind, const uint8_t *from, size_t plen, uint8_t fill)
{
    size_t n = 0;
    out[n++] = 0xa4;
    out[n++] = 0x01;
    out[n++] = kind;
    out[n++] = 0x02;
    out[n++] = 0x58;
    out[n++] = 0x20;
    memcpy(out + n, from, 32);
    n += 32;
    out[n++] = 0x03;
    out[n++] = 0x5a;
    out[n++] = (uint8_t)(plen >> 24);
    out[n++] = (uint8_t)(plen >> 16);
    out[n++] = (uint8_t)(plen >> 8);
    out[n++] = (uint8_t)plen;
    memset(out + n, fill, plen);
    n += plen;
    out[n++] = 0x04;
    out[n++] = 0x58;
    out[n++] = 0x40;
    memset(out + n, 0x5a, 64);
    return n + 64;
}

static ul_peer *open_peer(const ul_key *k, const char *listen, const char *const *peers,
                          size_t n_peers)
{
    ul_peer *p = NULL;
    assert_int_equal(ul_peer_open(&p, g_chain, k, listen, peers, n_peers), UL_OK);
    assert_non_null(p);
    assert_int_equal(ul_peer_allow(p, (const uint8_t(*)[UL_PUBKEY_BYTES])g_pub, 3), UL_OK);
    return p;
}

/* Waits (bounded) for the next valid message at p. Returns the ul_peer_recv result. */
static ul_err recv_wait(ul_peer *p, int tries, uint32_t *kind, uint8_t *from, ul_span *payload)
{
    int s = ul_peer_socket(p);
    bool ready;
    for (int i = 0; i < tries; i++) {
        ul_err e = ul_peer_recv(p, kind, from, payload);
        if (e != UL_E_TIMEOUT) {
            return e;
        }
        ul_p2p_poll(&s, 1, POLL_MS, &ready);
    }
    return UL_E_TIMEOUT;
}

static bool is_msg(uint32_t k, const uint8_t *who, ul_span pl, uint32_t kind, int from_idx,
                   const uint8_t *msg, size_t len)
{
    return k == kind && memcmp(who, g_pub[from_idx], UL_PUBKEY_BYTES) == 0 && pl.len == len &&
           (len == 0 || memcmp(pl.ptr, msg, len) == 0);
}

/* Broadcasts from `from` until `to` has the message (connections come up in the background, so
 * the first sends may find no connection yet). Copies of earlier sends that arrive late are
 * passed over. */
static void deliver(ul_peer *from, int from_idx, ul_peer *to, uint32_t kind, const uint8_t *msg,
                    size_t len)
{
    for (int i = 0; i < TRIES; i++) {
        uint32_t k;
        uint8_t who[UL_PUBKEY_BYTES];
        ul_span pl;
        assert_int_equal(ul_peer_broadcast(from, kind, msg, len), UL_OK);
        while (recv_wait(to, 2, &k, who, &pl) == UL_OK) {
            if (is_msg(k, who, pl, kind, from_idx, msg, len)) {
                return;
            }
        }
    }
    fail_msg("message never arrived");
}

/* Waits (bounded) for a message equal to msg, passing over others. */
static void expect_msg(ul_peer *to, uint32_t kind, int from_idx, const uint8_t *msg, size_t len)
{
    uint32_t k;
    uint8_t who[UL_PUBKEY_BYTES];
    ul_span pl;
    for (int i = 0; i < TRIES; i++) {
        assert_int_equal(recv_wait(to, TRIES, &k, who, &pl), UL_OK);
        if (is_msg(k, who, pl, kind, from_idx, msg, len)) {
            return;
        }
    }
    fail_msg("message never arrived");
}

/* A raw nanomsg PUSH socket to endpoint whose sends wait (bounded) for the connection, so that
 * every message goes down one connection in order. */
static int raw_push(const char *endpoint)
{
    int s = nn_socket(AF_SP, NN_PUSH);
    int to = 20000;
    assert_true(s >= 0);
    assert_true(nn_setsockopt(s, NN_SOL_SOCKET, NN_SNDTIMEO, &to, sizeof to) == 0);
    assert_true(nn_connect(s, endpoint) >= 0);
    return s;
}

static void raw_send(int s, const uint8_t *msg, size_t len)
{
    int r = nn_send(s, msg, len, 0);
    if (r != (int)len) {
        print_message("nn_send of %zu bytes: %s\n", len, nn_strerror(nn_errno()));
    }
    assert_int_equal(r, (int)len);
}

/* ---- envelope codec ----------------------------------------------------------------------- */

static void test_envelope_round_trip(void **state)
{
    static const uint8_t payload[] = "a vote, say";
    uint8_t buf[512], signed_buf[512], again[512];
    size_t n, sn, an;
    ul_envelope e;

    alarm(WATCHDOG_S);
    for (uint64_t kind = 1; kind <= UL_PEER_KIND_MAX; kind++) {
        n = make_env(buf, sizeof buf, g_key[0], g_chain, kind, payload, sizeof payload);
        assert_int_equal(ul_schema_envelope_decode(&e, buf, n), UL_OK);
        assert_int_equal(e.kind, kind);
        assert_memory_equal(e.from, g_pub[0], UL_PUBKEY_BYTES);
        assert_int_equal(e.payload.len, sizeof payload);
        assert_memory_equal(e.payload.ptr, payload, sizeof payload);
        assert_int_equal(ul_schema_envelope_encode(again, sizeof again, &an, &e), UL_OK);
        assert_int_equal(an, n);
        assert_memory_equal(again, buf, n);
        /* The signed bytes are the map without its signature: {1, 2, 3}. */
        assert_int_equal(ul_schema_envelope_signed_encode(signed_buf, sizeof signed_buf, &sn, &e),
                         UL_OK);
        assert_int_equal(sn, n - 67);
        assert_int_equal(signed_buf[0], 0xa3);
        assert_memory_equal(signed_buf + 1, buf + 1, sn - 1);
        assert_int_equal(
            ul_client_sig_verify(e.sig, UL_DOMAIN_PEER, g_chain, signed_buf, sn, e.from), UL_OK);
        assert_int_equal(
            ul_client_sig_verify(e.sig, UL_DOMAIN_PEER, g_other_chain, signed_buf, sn, e.from),
            UL_E_SIG);
        assert_int_equal(
            ul_client_sig_verify(e.sig, UL_DOMAIN_VOTE, g_chain, signed_buf, sn, e.from), UL_E_SIG);
    }
    /* An empty payload is a payload. */
    n = make_env(buf, sizeof buf, g_key[1], g_chain, UL_PEER_STATUS, NULL, 0);
    assert_int_equal(ul_schema_envelope_decode(&e, buf, n), UL_OK);
    assert_int_equal(e.payload.len, 0);
    /* Kinds outside 1..UL_PEER_KIND_MAX. */
    e.kind = 0;
    assert_int_equal(ul_schema_envelope_encode(again, sizeof again, &an, &e), UL_E_SCHEMA_FIELD);
    e.kind = UL_PEER_KIND_MAX + 1;
    assert_int_equal(ul_schema_envelope_encode(again, sizeof again, &an, &e), UL_E_SCHEMA_FIELD);
    assert_int_equal(ul_schema_envelope_signed_encode(again, sizeof again, &an, &e),
                     UL_E_SCHEMA_FIELD);
    e.kind = UL_PEER_VOTE;
    assert_int_equal(ul_schema_envelope_encode(again, 20, &an, &e), UL_E_BUFFER);
}

/* One byte changed at off, expecting err from the decoder. */
static void expect_patched(const uint8_t *good, size_t n, size_t off, uint8_t v, ul_err err)
{
    uint8_t bad[512];
    ul_envelope e;
    memcpy(bad, good, n);
    bad[off] = v;
    assert_int_equal(ul_schema_envelope_decode(&e, bad, n), err);
}

static void test_envelope_noncanonical(void **state)
{
    static const uint8_t payload[] = {1, 2, 3};
    uint8_t good[512], bad[600];
    ul_envelope e;

    alarm(WATCHDOG_S);
    size_t n = make_env(good, sizeof good, g_key[0], g_chain, UL_PEER_VOTE, payload, 3);
    /* Layout: a4 01 02 02 58 20 [32] 03 43 01 02 03 04 58 40 [64] */
    assert_int_equal(n, 1 + 2 + 35 + 5 + 67);
    assert_int_equal(ul_schema_envelope_decode(&e, good, n), UL_OK);
    expect_patched(good, n, 2, 0x00, UL_E_SCHEMA_FIELD);                 /* kind 0 */
    expect_patched(good, n, 2, UL_PEER_KIND_MAX + 1, UL_E_SCHEMA_FIELD); /* kind past the max */
    expect_patched(good, n, 0, 0xa6, UL_E_SCHEMA_FIELD);  /* claims 6 pairs: more than known */
    expect_patched(good, n, 0, 0xa3, UL_E_SCHEMA_FIELD);  /* 3 pairs: no signature */
    expect_patched(good, n, 38, 0x06, UL_E_SCHEMA_FIELD); /* unknown key 6 */
    expect_patched(good, n, 3, 0x03, UL_E_SCHEMA_FIELD);  /* key 3 twice */
    expect_patched(good, n, 39, 0x63, UL_E_CBOR_TYPE);    /* payload as text */
    expect_patched(good, n, 5, 0x1f, UL_E_SCHEMA_FIELD);  /* from of 31 bytes */
    /* Keys out of order: {2: from, 1: kind, ...}. */
    memcpy(bad, good, n);
    bad[1] = 0x02;
    memcpy(bad + 2, good + 4, 34);
    bad[36] = 0x01;
    bad[37] = good[2];
    assert_int_equal(ul_schema_envelope_decode(&e, bad, n), UL_E_CBOR_NONCANONICAL);
    /* kind in a two-byte head (18 02): not the shortest form. */
    bad[0] = 0xa4;
    bad[1] = 0x01;
    bad[2] = 0x18;
    bad[3] = 0x02;
    memcpy(bad + 4, good + 3, n - 3);
    assert_int_equal(ul_schema_envelope_decode(&e, bad, n + 1), UL_E_CBOR_NONCANONICAL);
    /* Payload as an indefinite-length byte string (5f 43 01 02 03 ff). */
    memcpy(bad, good, 39);
    bad[39] = 0x5f;
    memcpy(bad + 40, good + 39, 4);
    bad[44] = 0xff;
    memcpy(bad + 45, good + 43, n - 43);
    assert_int_equal(ul_schema_envelope_decode(&e, bad, n + 2), UL_E_CBOR_NONCANONICAL);
    /* A trailing byte; an empty input; garbage. */
    memcpy(bad, good, n);
    bad[n] = 0x00;
    assert_int_equal(ul_schema_envelope_decode(&e, bad, n + 1), UL_E_CBOR_TRAILING);
    assert_int_equal(ul_schema_envelope_decode(&e, bad, 0), UL_E_CBOR_MALFORMED);
    memset(bad, 0xff, 64);
    assert_int_not_equal(ul_schema_envelope_decode(&e, bad, 64), UL_OK);
    /* A signature of 63 bytes (58 3f, one byte short). */
    memcpy(bad, good, n);
    bad[n - 65] = 0x3f;
    assert_int_equal(ul_schema_envelope_decode(&e, bad, n - 1), UL_E_SCHEMA_FIELD);
}

static void test_envelope_limits(void **state)
{
    size_t cap = (size_t)UL_MAX_PEER_ENVELOPE_BYTES + 64;
    uint8_t *buf = malloc(cap), *out = malloc(cap);
    uint8_t *payload = malloc((size_t)UL_MAX_PEER_PAYLOAD + 1);
    ul_envelope e;
    size_t n, on;

    alarm(WATCHDOG_S);
    assert_non_null(buf);
    assert_non_null(out);
    assert_non_null(payload);
    memset(payload, 0x77, (size_t)UL_MAX_PEER_PAYLOAD + 1);
    /* At the bound: encodes, decodes, re-encodes to the same bytes. */
    n = make_env(buf, cap, g_key[0], g_chain, UL_PEER_PROPOSAL, payload, UL_MAX_PEER_PAYLOAD);
    assert_true(n <= UL_MAX_PEER_ENVELOPE_BYTES);
    assert_int_equal(ul_schema_envelope_decode(&e, buf, n), UL_OK);
    assert_int_equal(e.payload.len, UL_MAX_PEER_PAYLOAD);
    assert_int_equal(ul_schema_envelope_encode(out, cap, &on, &e), UL_OK);
    assert_int_equal(on, n);
    /* One past: the encoders refuse it, the decoder too. */
    e.payload = (ul_span){payload, (size_t)UL_MAX_PEER_PAYLOAD + 1};
    assert_int_equal(ul_schema_envelope_encode(out, cap, &on, &e), UL_E_LIMIT);
    assert_int_equal(ul_schema_envelope_signed_encode(out, cap, &on, &e), UL_E_LIMIT);
    n = raw_env(buf, UL_PEER_PROPOSAL, g_pub[0], (size_t)UL_MAX_PEER_PAYLOAD + 1, 0x77);
    assert_true(n <= UL_MAX_PEER_ENVELOPE_BYTES); /* the payload bound bites first */
    assert_int_equal(ul_schema_envelope_decode(&e, buf, n), UL_E_LIMIT);
    n = raw_env(buf, UL_PEER_PROPOSAL, g_pub[0], UL_MAX_PEER_PAYLOAD, 0x77);
    assert_int_equal(ul_schema_envelope_decode(&e, buf, n), UL_OK); /* raw_env is well formed */
    /* An input past UL_MAX_PEER_ENVELOPE_BYTES, whatever it holds. */
    memset(buf, 0, cap);
    assert_int_equal(ul_schema_envelope_decode(&e, buf, (size_t)UL_MAX_PEER_ENVELOPE_BYTES + 1),
                     UL_E_LIMIT);
    free(buf);
    free(out);
    free(payload);
}

/* ---- transport ---------------------------------------------------------------------------- */

static void test_open_errors(void **state)
{
    char ep[160], ep2[160];
    const char *peers[UL_MAX_PEERS + 1];
    ul_peer *p = NULL, *q;
    uint32_t kind;
    uint8_t from[UL_PUBKEY_BYTES], one = 1;
    ul_span pl;

    alarm(WATCHDOG_S);
    ipc_endpoint(ep, sizeof ep);
    snprintf(ep2, sizeof ep2, "tcp://127.0.0.1:%d", free_port("127.0.0.1"));
    for (size_t i = 0; i <= UL_MAX_PEERS; i++) {
        peers[i] = ep;
    }
    assert_int_equal(ul_peer_open(&p, g_chain, g_key[0], NULL, peers, UL_MAX_PEERS + 1),
                     UL_E_LIMIT);
    assert_null(p);
    assert_int_equal(ul_peer_open(&p, NULL, g_key[0], NULL, NULL, 0), UL_E_ARG);
    assert_int_equal(ul_peer_open(&p, g_chain, g_key[0], NULL, NULL, 1), UL_E_ARG);
    /* Endpoints nanomsg refuses. */
    const char *bad[] = {"tcp://127.0.0.1", "bogus://x", "tcp://nosuchif0;127.0.0.1:7", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(ul_peer_open(&p, g_chain, g_key[0], NULL, &bad[i], 1), UL_E_CONFIG);
        assert_int_equal(ul_peer_open(&p, g_chain, g_key[0], bad[i], NULL, 0), UL_E_CONFIG);
    }
    /* A listen endpoint in use. */
    p = open_peer(g_key[0], ep2, peers, UL_MAX_PEERS); /* the bound: 64 PUSH sockets */
    assert_int_equal(ul_peer_open(&q, g_chain, g_key[1], ep2, NULL, 0), UL_E_EXISTS);
    assert_null(q);
    assert_true(ul_peer_socket(p) >= 0);
    /* Arguments ul_peer_broadcast refuses. */
    assert_int_equal(ul_peer_broadcast(p, 0, &one, 1), UL_E_ARG);
    assert_int_equal(ul_peer_broadcast(p, UL_PEER_KIND_MAX + 1, &one, 1), UL_E_ARG);
    assert_int_equal(ul_peer_broadcast(p, UL_PEER_VOTE, NULL, 1), UL_E_ARG);
    assert_int_equal(ul_peer_broadcast(p, UL_PEER_VOTE, &one, (size_t)UL_MAX_PEER_PAYLOAD + 1),
                     UL_E_LIMIT);
    assert_int_equal(ul_peer_allow(p, (const uint8_t(*)[UL_PUBKEY_BYTES])g_pub, UL_MAX_PEERS + 1),
                     UL_E_LIMIT);
    assert_int_equal(ul_peer_allow(p, NULL, 1), UL_E_ARG);
    assert_int_equal(ul_peer_allow(p, NULL, 0), UL_OK);
    ul_peer_close(p);
    /* Receive only: no key, no broadcast. No listen: nothing to poll, nothing arrives. */
    p = open_peer(NULL, ep2, NULL, 0);
    assert_int_equal(ul_peer_broadcast(p, UL_PEER_VOTE, &one, 1), UL_E_ARG);
    ul_peer_close(p);
    p = open_peer(g_key[0], NULL, NULL, 0);
    assert_int_equal(ul_peer_socket(p), -1);
    assert_int_equal(ul_peer_recv(p, &kind, from, &pl), UL_E_TIMEOUT);
    assert_int_equal(ul_peer_broadcast(p, UL_PEER_VOTE, &one, 1), UL_OK); /* to no one */
    ul_peer_close(p);
    ul_peer_close(NULL);
}

/* Three validators, each sending to the other two, each receiving from both. */
static void test_three_peers(void **state)
{
    char ep[3][160];
    ul_peer *n[3];

    alarm(WATCHDOG_S);
    for (int i = 0; i < 3; i++) {
        ipc_endpoint(ep[i], sizeof ep[i]);
    }
    for (int i = 0; i < 3; i++) {
        const char *peers[2] = {ep[(i + 1) % 3], ep[(i + 2) % 3]};
        n[i] = open_peer(g_key[i], ep[i], peers, 2);
    }
    for (int i = 0; i < 3; i++) {
        for (int j = 1; j <= 2; j++) {
            uint8_t msg[2] = {(uint8_t)i, (uint8_t)j};
            deliver(n[i], i, n[(i + j) % 3], UL_PEER_VOTE, msg, sizeof msg);
        }
    }
    /* Connected now: one broadcast reaches both others. */
    static const uint8_t hello[] = "proposal from B";
    assert_int_equal(ul_peer_broadcast(n[1], UL_PEER_PROPOSAL, hello, sizeof hello), UL_OK);
    expect_msg(n[0], UL_PEER_PROPOSAL, 1, hello, sizeof hello);
    expect_msg(n[2], UL_PEER_PROPOSAL, 1, hello, sizeof hello);
    for (int i = 0; i < 3; i++) {
        ul_peer_stats st;
        ul_peer_stats_get(n[i], &st);
        assert_true(st.sent >= 2 && st.received >= 2);
        assert_int_equal(st.malformed + st.oversized + st.bad_sig + st.unknown_sender, 0);
        ul_peer_close(n[i]);
    }
}

/* An attachment travels with the envelope outside its signature: the signed bytes are the same
 * with or without one, a changed attachment still verifies (the payload must bind it), and the
 * receiver gets exactly what was attached, or none. */
static void test_attachment(void **state)
{
    static const uint8_t payload[] = "leaf hashes", att[] = "the txs themselves";
    char ep[2][160];
    ul_peer *n[2];
    uint8_t buf[512], again[512];
    size_t len, alen;
    uint32_t kind;
    uint8_t who[UL_PUBKEY_BYTES];
    ul_span pl, a;
    ul_envelope e = {.kind = UL_PEER_TXS, .payload = {payload, sizeof payload}};

    alarm(WATCHDOG_S);
    /* Schema: the signed map ignores the attachment; the envelope round-trips it. */
    memcpy(e.from, g_pub[0], UL_PUBKEY_BYTES);
    assert_int_equal(ul_schema_envelope_signed_encode(buf, sizeof buf, &len, &e), UL_OK);
    e.attach = (ul_span){att, sizeof att};
    e.has_attach = true;
    assert_int_equal(ul_schema_envelope_signed_encode(again, sizeof again, &alen, &e), UL_OK);
    assert_int_equal(alen, len);
    assert_memory_equal(again, buf, len);
    assert_int_equal(ul_schema_envelope_encode(buf, sizeof buf, &len, &e), UL_OK);
    ul_envelope d;
    assert_int_equal(ul_schema_envelope_decode(&d, buf, len), UL_OK);
    assert_true(d.has_attach);
    assert_int_equal(d.attach.len, sizeof att);
    assert_memory_equal(d.attach.ptr, att, sizeof att);
    e.has_attach = false;
    assert_int_equal(ul_schema_envelope_encode(again, sizeof again, &alen, &e), UL_OK);
    assert_int_equal(ul_schema_envelope_decode(&d, again, alen), UL_OK);
    assert_false(d.has_attach);
    assert_int_equal(alen + 2 + sizeof att, len); /* key 5 and a one-byte head */

    /* Transport: what is attached arrives; a plain broadcast has none. */
    for (int i = 0; i < 2; i++) {
        ipc_endpoint(ep[i], sizeof ep[i]);
    }
    for (int i = 0; i < 2; i++) {
        const char *peers[1] = {ep[1 - i]};
        n[i] = open_peer(g_key[i], ep[i], peers, 1);
    }
    deliver(n[0], 0, n[1], UL_PEER_VOTE, payload, 2); /* connected */
    assert_false(ul_peer_attachment(n[1], &a));
    assert_int_equal(ul_peer_send(n[0], UL_PEER_TXS, payload, sizeof payload, att, sizeof att),
                     UL_OK);
    do { /* late copies of deliver's sends come first */
        assert_int_equal(recv_wait(n[1], TRIES, &kind, who, &pl), UL_OK);
    } while (kind == UL_PEER_VOTE);
    assert_true(is_msg(kind, who, pl, UL_PEER_TXS, 0, payload, sizeof payload));
    assert_true(ul_peer_attachment(n[1], &a));
    assert_int_equal(a.len, sizeof att);
    assert_memory_equal(a.ptr, att, sizeof att);
    assert_true(ul_peer_attachment(n[1], NULL));
    /* An empty attachment is one, too. */
    assert_int_equal(ul_peer_send(n[0], UL_PEER_TXS, payload, 1, att, 0), UL_OK);
    assert_int_equal(recv_wait(n[1], TRIES, &kind, who, &pl), UL_OK);
    assert_true(ul_peer_attachment(n[1], &a));
    assert_int_equal(a.len, 0);
    assert_int_equal(ul_peer_broadcast(n[0], UL_PEER_VOTE, payload, 1), UL_OK);
    assert_int_equal(recv_wait(n[1], TRIES, &kind, who, &pl), UL_OK);
    assert_false(ul_peer_attachment(n[1], &a));
    /* Refused: attach NULL with a length; payload and attachment past the bound together. */
    assert_int_equal(ul_peer_send(n[0], UL_PEER_TXS, payload, 1, NULL, 1), UL_E_ARG);
    assert_int_equal(ul_peer_send(n[0], UL_PEER_TXS, payload, 1, att, (size_t)UL_MAX_PEER_PAYLOAD),
                     UL_E_LIMIT);
    assert_false(ul_peer_attachment(NULL, &a));
    for (int i = 0; i < 2; i++) {
        ul_peer_close(n[i]);
    }
}

/* Sends from D until a has counted more than `before` unknown senders; nothing from D may be
 * returned meanwhile. Returns the count. */
static uint64_t refused_from_d(ul_peer *d, ul_peer *a, uint64_t before)
{
    static const uint8_t msg[] = "from D, not allowed";
    uint32_t kind;
    uint8_t from[UL_PUBKEY_BYTES];
    ul_span pl;
    ul_peer_stats st;
    for (int i = 0; i < TRIES; i++) {
        ul_peer_stats_get(a, &st);
        if (st.unknown_sender > before) {
            return st.unknown_sender;
        }
        assert_int_equal(ul_peer_broadcast(d, UL_PEER_VOTE, msg, sizeof msg), UL_OK);
        if (recv_wait(a, 2, &kind, from, &pl) == UL_OK) {
            assert_memory_not_equal(from, g_pub[3], UL_PUBKEY_BYTES);
        }
    }
    fail_msg("never refused");
    return 0;
}

/* D is no validator: A drops what it sends (counted), and takes B's next message. */
static void test_unknown_sender(void **state)
{
    char ep[160];
    ul_peer_stats st;
    static const uint8_t msg[] = "from B";
    static const uint8_t msg2[] = "from D, allowed now";

    alarm(WATCHDOG_S);
    ipc_endpoint(ep, sizeof ep);
    const char *peers[1] = {ep};
    ul_peer *a = open_peer(g_key[0], ep, NULL, 0);
    ul_peer *b = open_peer(g_key[1], NULL, peers, 1);
    ul_peer *d = open_peer(g_key[3], NULL, peers, 1);
    uint64_t refused = refused_from_d(d, a, 0);
    ul_peer_stats_get(a, &st);
    assert_int_equal(st.received, 0);
    deliver(b, 1, a, UL_PEER_TXS, msg, sizeof msg);
    /* Allowed once named; dropped again once the set no longer names it. */
    assert_int_equal(ul_peer_allow(a, (const uint8_t(*)[UL_PUBKEY_BYTES])g_pub, 4), UL_OK);
    deliver(d, 3, a, UL_PEER_STATUS, msg2, sizeof msg2);
    assert_int_equal(ul_peer_allow(a, (const uint8_t(*)[UL_PUBKEY_BYTES])g_pub, 3), UL_OK);
    refused_from_d(d, a, refused);
    ul_peer_stats_get(a, &st);
    assert_int_equal(st.malformed + st.oversized + st.bad_sig, 0);
    ul_peer_close(a);
    ul_peer_close(b);
    ul_peer_close(d);
}

/* Messages a raw PUSH socket sends in order, from a thread: a message larger than the socket
 * buffers waits for the receiver to read, so the test's thread must be free to do that. */
typedef struct {
    int sock;
    size_t n;
    const uint8_t *msg[12];
    size_t len[12];
    size_t sent;
} raw_sender;

static void raw_add(raw_sender *r, const uint8_t *msg, size_t len)
{
    assert_true(r->n < 12);
    r->msg[r->n] = msg;
    r->len[r->n++] = len;
}

static void *raw_send_all(void *arg)
{
    raw_sender *r = arg;
    for (size_t i = 0; i < r->n && nn_send(r->sock, r->msg[i], r->len[i], 0) == (int)r->len[i];
         i++) {
        r->sent++;
    }
    return NULL;
}

/* Bad messages from a raw socket, in order on one connection, then a good one: each bad one is
 * dropped and counted, and the good one is the first ul_peer_recv returns. */
static void test_bad_messages_dropped(void **state)
{
    char ep[160];
    uint8_t *big = malloc(UL_MAX_PEER_ENVELOPE_BYTES), env[256], bad[7][256], good[256];
    static const uint8_t payload[] = "prevote";
    static const uint8_t good_payload[] = "the good one";
    raw_sender r = {.n = 0};
    pthread_t t;
    uint32_t kind;
    uint8_t from[UL_PUBKEY_BYTES];
    ul_span pl;
    ul_peer_stats st;

    alarm(WATCHDOG_S);
    assert_non_null(big);
    size_t n = make_env(env, sizeof env, g_key[1], g_chain, UL_PEER_VOTE, payload, sizeof payload);
    for (int i = 0; i < 7; i++) {
        memcpy(bad[i], env, n);
    }
    bad[0][n - 1] ^= 0x01; /* tampered signature */
    raw_add(&r, bad[0], n);
    bad[1][n - 68] ^= 0x01; /* tampered payload under a good signature */
    raw_add(&r, bad[1], n);
    raw_add(&r, bad[2], /* signed for another chain */
            make_env(bad[2], sizeof bad[2], g_key[1], g_other_chain, UL_PEER_VOTE, payload,
                     sizeof payload));
    memset(bad[3] + n - 64, 0, 64); /* unsigned: an all-zero signature */
    raw_add(&r, bad[3], n);
    bad[4][2] = 0x18; /* non-canonical: the kind in a two-byte head */
    memcpy(bad[4] + 3, env + 2, n - 2);
    raw_add(&r, bad[4], n + 1);
    memset(bad[5], 0xfe, 100); /* garbage */
    raw_add(&r, bad[5], 100);
    raw_add(&r, bad[6], 0); /* empty */
    /* A payload one byte past UL_MAX_PEER_PAYLOAD (under NN_RCVMAXSIZE: it reaches us). */
    raw_add(&r, big, raw_env(big, UL_PEER_PROPOSAL, g_pub[1], (size_t)UL_MAX_PEER_PAYLOAD + 1, 0));
    raw_add(&r, good, /* the good one */
            make_env(good, sizeof good, g_key[2], g_chain, UL_PEER_TXS, good_payload,
                     sizeof good_payload));

    ipc_endpoint(ep, sizeof ep);
    ul_peer *a = open_peer(NULL, ep, NULL, 0);
    r.sock = raw_push(ep);
    assert_int_equal(pthread_create(&t, NULL, raw_send_all, &r), 0);
    ul_err e = recv_wait(a, TRIES, &kind, from, &pl);
    pthread_join(t, NULL);
    assert_int_equal(r.sent, r.n);
    assert_int_equal(e, UL_OK);
    assert_int_equal(kind, UL_PEER_TXS);
    assert_memory_equal(from, g_pub[2], UL_PUBKEY_BYTES);
    assert_int_equal(pl.len, sizeof good_payload);
    assert_memory_equal(pl.ptr, good_payload, sizeof good_payload);
    ul_peer_stats_get(a, &st);
    assert_int_equal(st.bad_sig, 4);
    assert_int_equal(st.malformed, 3);
    assert_int_equal(st.oversized, 1);
    assert_int_equal(st.unknown_sender, 0);
    assert_int_equal(st.received, 1);
    nn_close(r.sock);
    ul_peer_close(a);
    free(big);
}

/* Past NN_RCVMAXSIZE nanomsg drops the message and its connection before we see it (nothing to
 * count); the sender reconnects and its next message arrives. */
static void test_beyond_rcvmaxsize(void **state)
{
    char ep[160];
    size_t cap = (size_t)UL_MAX_PEER_ENVELOPE_BYTES + 1;
    uint8_t *big = calloc(1, cap), env[256];
    static const uint8_t payload[] = "after the flood";
    uint32_t kind;
    uint8_t from[UL_PUBKEY_BYTES];
    ul_span pl;
    ul_peer_stats st;

    alarm(WATCHDOG_S);
    assert_non_null(big);
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", free_port("127.0.0.1"));
    ul_peer *a = open_peer(NULL, ep, NULL, 0);
    int raw = raw_push(ep);
    raw_send(raw, big, cap);
    size_t n =
        make_env(env, sizeof env, g_key[0], g_chain, UL_PEER_STATUS, payload, sizeof payload);
    raw_send(raw, env, n);
    assert_int_equal(recv_wait(a, TRIES, &kind, from, &pl), UL_OK);
    assert_memory_equal(pl.ptr, payload, sizeof payload);
    ul_peer_stats_get(a, &st);
    assert_int_equal(st.received, 1);
    assert_int_equal(st.malformed + st.oversized, 0);
    nn_close(raw);
    ul_peer_close(a);
    free(big);
}

/* A flood of bad messages is taken UL_PEER_RECV_BATCH at a time at most, then the good one. */
static void test_recv_batch_bounded(void **state)
{
    char ep[160];
    uint8_t env[256], junk[8] = {0xff};
    uint32_t kind;
    uint8_t from[UL_PUBKEY_BYTES];
    ul_span pl;
    ul_peer_stats st;
    const size_t flood = UL_PEER_RECV_BATCH + 44;

    alarm(WATCHDOG_S);
    ipc_endpoint(ep, sizeof ep);
    ul_peer *a = open_peer(NULL, ep, NULL, 0);
    int raw = raw_push(ep);
    for (size_t i = 0; i < flood; i++) {
        raw_send(raw, junk, sizeof junk);
    }
    size_t n = make_env(env, sizeof env, g_key[0], g_chain, UL_PEER_VOTE, junk, sizeof junk);
    raw_send(raw, env, n);
    int s = ul_peer_socket(a);
    bool ready;
    uint64_t last = 0;
    ul_err e = UL_E_TIMEOUT;
    for (int i = 0; i < 2 * TRIES && e == UL_E_TIMEOUT; i++) {
        ul_p2p_poll(&s, 1, POLL_MS, &ready);
        e = ul_peer_recv(a, &kind, from, &pl);
        ul_peer_stats_get(a, &st);
        assert_true(st.malformed - last <= UL_PEER_RECV_BATCH);
        last = st.malformed;
    }
    assert_int_equal(e, UL_OK);
    assert_int_equal(st.malformed, flood);
    assert_int_equal(st.received, 1);
    nn_close(raw);
    ul_peer_close(a);
}

/* A peer that is not running, then one that does not read: broadcast returns at once, UL_OK,
 * and counts what the peer lost. */
static void test_send_never_waits(void **state)
{
    char ep[160];
    size_t len = 1024 * 1024;
    uint8_t *payload = calloc(1, len), one = 1;
    ul_peer_stats st;

    alarm(WATCHDOG_S);
    assert_non_null(payload);
    ipc_endpoint(ep, sizeof ep);
    const char *peers[1] = {ep};
    ul_peer *a = open_peer(g_key[0], NULL, peers, 1);
    /* Queued for the peer until the queue is full, then the newest are dropped. */
    for (int i = 0; i < UL_PEER_QUEUE_MSGS + 3; i++) {
        assert_int_equal(ul_peer_broadcast(a, UL_PEER_VOTE, &one, 1), UL_OK);
    }
    ul_peer_stats_get(a, &st);
    assert_int_equal(st.send_dropped, 3);
    assert_int_equal(st.sent, 0);
    assert_int_equal(ul_peer_queued(a), UL_PEER_QUEUE_MSGS);
    assert_int_equal(ul_peer_flush(a), UL_OK);
    assert_int_equal(ul_peer_queued(a), UL_PEER_QUEUE_MSGS);
    ul_peer_close(a);

    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", free_port("127.0.0.1"));
    a = open_peer(g_key[0], NULL, peers, 1);
    ul_peer *b = open_peer(g_key[1], ep, NULL, 0);
    deliver(a, 0, b, UL_PEER_VOTE, &one, 1); /* connected */
    ul_peer_stats_get(a, &st);
    uint64_t dropped0 = st.send_dropped, sent0 = st.sent;
    /* b stops reading: its kernel buffers and nanomsg's one message fill, then a's queue. */
    for (int i = 0; i < 256 && st.send_dropped == dropped0; i++) {
        assert_int_equal(ul_peer_flush(a), UL_OK);
        assert_int_equal(ul_peer_broadcast(a, UL_PEER_TXS, payload, len), UL_OK);
        ul_peer_stats_get(a, &st);
    }
    assert_true(st.send_dropped > dropped0);
    assert_true(st.sent > sent0);
    /* b reads again: what was queued arrives. */
    expect_msg(b, UL_PEER_TXS, 0, payload, len);
    ul_peer_close(a); /* with messages still queued: does not wait for them */
    ul_peer_close(b);
    free(payload);
}

/* What was queued while a peer was down reaches it, in order, once it is up and the sender
 * flushes: a burst sent before a connection exists is not lost. */
static void test_queue_delivers_in_order(void **state)
{
    char ep[160];
    ul_peer_stats st;

    alarm(WATCHDOG_S);
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", free_port("127.0.0.1"));
    const char *peers[1] = {ep};
    ul_peer *a = open_peer(g_key[0], NULL, peers, 1);
    for (uint8_t i = 0; i < 5; i++) {
        assert_int_equal(ul_peer_broadcast(a, UL_PEER_TXS, &i, 1), UL_OK);
    }
    assert_int_equal(ul_peer_queued(a), 5);
    ul_peer *b = open_peer(g_key[1], ep, NULL, 0);
    for (uint8_t i = 0; i < 5; i++) {
        uint32_t k;
        uint8_t who[UL_PUBKEY_BYTES];
        ul_span pl;
        ul_err e = UL_E_TIMEOUT;
        for (int t = 0; t < TRIES && e == UL_E_TIMEOUT; t++) {
            assert_int_equal(ul_peer_flush(a), UL_OK);
            e = recv_wait(b, 1, &k, who, &pl);
        }
        assert_int_equal(e, UL_OK);
        assert_true(is_msg(k, who, pl, UL_PEER_TXS, 0, &i, 1));
    }
    assert_int_equal(ul_peer_queued(a), 0);
    ul_peer_stats_get(a, &st);
    assert_int_equal(st.sent, 5);
    assert_int_equal(st.send_dropped, 0);
    ul_peer_close(a);
    ul_peer_close(b);
}

/* The largest payload goes through although it is far larger than the socket buffers: nanomsg
 * sends one message beyond them when the connection is idle. */
static void test_max_payload_round_trip(void **state)
{
    char ep[160];
    uint8_t *payload = malloc(UL_MAX_PEER_PAYLOAD), one = 1;
    ul_peer_stats st;

    alarm(WATCHDOG_S);
    assert_non_null(payload);
    for (size_t i = 0; i < UL_MAX_PEER_PAYLOAD; i++) {
        payload[i] = (uint8_t)(i * 131 + (i >> 16));
    }
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", free_port("127.0.0.1"));
    const char *peers[1] = {ep};
    ul_peer *a = open_peer(g_key[0], NULL, peers, 1);
    ul_peer *b = open_peer(g_key[1], ep, NULL, 0);
    deliver(a, 0, b, UL_PEER_VOTE, &one, 1); /* connected, queue empty */
    ul_peer_stats_get(a, &st);
    uint64_t dropped = st.send_dropped;
    assert_int_equal(ul_peer_broadcast(a, UL_PEER_PROPOSAL, payload, UL_MAX_PEER_PAYLOAD), UL_OK);
    ul_peer_stats_get(a, &st);
    assert_int_equal(st.send_dropped, dropped);
    expect_msg(b, UL_PEER_PROPOSAL, 0, payload, UL_MAX_PEER_PAYLOAD);
    ul_peer_close(a);
    ul_peer_close(b);
    free(payload);
}

/* True when /proc/net/tcp lists an established connection from local to remote:port. */
static bool tcp_established(const char *local, const char *remote, int port)
{
    struct in_addr l, r;
    char line[512];
    bool found = false;
    FILE *f = fopen("/proc/net/tcp", "r");
    assert_non_null(f);
    assert_int_equal(inet_pton(AF_INET, local, &l), 1);
    assert_int_equal(inet_pton(AF_INET, remote, &r), 1);
    while (!found && fgets(line, sizeof line, f) != NULL) {
        unsigned la, lp, ra, rp, st;
        if (sscanf(line, " %*u: %8X:%4X %8X:%4X %2X", &la, &lp, &ra, &rp, &st) == 5) {
            found = la == l.s_addr && ra == r.s_addr && (int)rp == port && st == 1;
        }
    }
    fclose(f);
    return found;
}

/* "tcp://LOCAL;REMOTE:PORT" connects from LOCAL (nanomsg 1.x on Debian 12 accepts it). */
static void test_local_address(void **state)
{
    char listen[160], peer[200];
    static const uint8_t msg[] = "from 127.0.0.11";

    alarm(WATCHDOG_S);
    int port = free_port("127.0.0.12");
    snprintf(listen, sizeof listen, "tcp://127.0.0.12:%d", port);
    snprintf(peer, sizeof peer, "tcp://127.0.0.11;127.0.0.12:%d", port);
    const char *peers[1] = {peer};
    ul_peer *a = open_peer(g_key[0], NULL, peers, 1);
    ul_peer *b = open_peer(g_key[1], listen, NULL, 0);
    deliver(a, 0, b, UL_PEER_STATUS, msg, sizeof msg);
    assert_true(tcp_established("127.0.0.11", "127.0.0.12", port));
    ul_peer_close(a);
    ul_peer_close(b);
}

static void on_signal(int sig)
{
    (void)sig;
}

static volatile int g_stop_signals;

static void *signal_main(void *arg)
{
    pthread_t main_thread = *(pthread_t *)arg;
    while (!g_stop_signals) {
        pthread_kill(main_thread, SIGUSR1);
        usleep(20 * 1000);
    }
    return NULL;
}

static void test_poll(void **state)
{
    char ep[160];
    static const uint8_t msg[] = "wake up";
    bool ready[3] = {true, true, true};
    int socks[UL_P2P_POLL_MAX + 1];

    alarm(WATCHDOG_S);
    ipc_endpoint(ep, sizeof ep);
    const char *peers[1] = {ep};
    ul_peer *a = open_peer(g_key[0], NULL, peers, 1);
    ul_peer *b = open_peer(g_key[1], ep, NULL, 0);
    socks[0] = -1;
    socks[1] = ul_peer_socket(b);
    socks[2] = -1;
    /* Only -1 entries: waits out the timeout. Nothing sent: times out. */
    assert_int_equal(ul_p2p_poll(socks, 1, 10, ready), UL_E_TIMEOUT);
    assert_false(ready[0]);
    assert_int_equal(ul_p2p_poll(socks, 3, 10, ready), UL_E_TIMEOUT);
    assert_int_equal(ul_p2p_poll(socks, UL_P2P_POLL_MAX + 1, 10, ready), UL_E_LIMIT);
    ul_err e = UL_E_TIMEOUT;
    for (int i = 0; i < TRIES && e == UL_E_TIMEOUT; i++) {
        assert_int_equal(ul_peer_broadcast(a, UL_PEER_VOTE, msg, sizeof msg), UL_OK);
        e = ul_p2p_poll(socks, 3, POLL_MS, ready);
    }
    assert_int_equal(e, UL_OK);
    assert_false(ready[0]);
    assert_true(ready[1]);
    assert_false(ready[2]);
    /* A signal ends the wait with UL_E_NET so the caller can look at its stop flag. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGUSR1, &sa, NULL), 0);
    char ep2[160];
    ul_peer *c = open_peer(NULL, ipc_endpoint(ep2, sizeof ep2), NULL, 0); /* never any input */
    pthread_t self = pthread_self(), t;
    for (int round = 0; round < 2; round++) {
        socks[1] = round == 0 ? -1 : ul_peer_socket(c);
        g_stop_signals = 0;
        assert_int_equal(pthread_create(&t, NULL, signal_main, &self), 0);
        e = ul_p2p_poll(socks, 3, 30000, ready);
        g_stop_signals = 1;
        pthread_join(t, NULL);
        assert_int_equal(e, UL_E_NET);
    }
    ul_peer_close(c);
    socks[1] = ul_peer_socket(b);
    e = ul_p2p_poll(socks, 3, 30000, ready);
    assert_int_equal(e, UL_OK); /* interrupted or not, the message still waits */
    ul_peer_close(a);
    ul_peer_close(b);
}

/* A poll set waits as ul_p2p_poll does, with the sockets' descriptors looked up once. */
static void test_pollset(void **state)
{
    (void)state;
    char ep[160];
    static const uint8_t msg[] = "wake up";
    bool ready[3] = {true, true, true};
    int socks[UL_P2P_POLL_MAX + 1];
    ul_p2p_pollset ps;

    alarm(WATCHDOG_S);
    ipc_endpoint(ep, sizeof ep);
    const char *peers[1] = {ep};
    ul_peer *a = open_peer(g_key[0], NULL, peers, 1);
    ul_peer *b = open_peer(g_key[1], ep, NULL, 0);
    for (size_t i = 0; i < UL_P2P_POLL_MAX + 1; i++) {
        socks[i] = -1;
    }
    assert_int_equal(ul_p2p_pollset_init(&ps, socks, UL_P2P_POLL_MAX + 1), UL_E_LIMIT);
    assert_int_equal(ul_p2p_pollset_init(&ps, socks, 0), UL_OK);
    assert_int_equal(ul_p2p_pollset_wait(&ps, 0, 10, ready), UL_E_TIMEOUT); /* waits it out */
    socks[1] = ul_peer_socket(b);
    assert_int_equal(ul_p2p_pollset_init(&ps, socks, 3), UL_OK);
    assert_int_equal(ul_p2p_pollset_wait(&ps, 3, 10, ready), UL_E_TIMEOUT);
    assert_false(ready[0] || ready[1] || ready[2]);
    ul_err e = UL_E_TIMEOUT;
    for (int i = 0; i < TRIES && e == UL_E_TIMEOUT; i++) {
        assert_int_equal(ul_peer_broadcast(a, UL_PEER_VOTE, msg, sizeof msg), UL_OK);
        e = ul_p2p_pollset_wait(&ps, 3, POLL_MS, ready);
    }
    assert_int_equal(e, UL_OK);
    assert_true(!ready[0] && ready[1] && !ready[2]);
    /* Ready until read, and not after: the set sees what nanomsg's descriptor says. */
    assert_int_equal(ul_p2p_pollset_wait(&ps, 3, 0, ready), UL_OK);
    assert_true(ready[1]);
    uint32_t kind;
    uint8_t from[UL_PUBKEY_BYTES];
    ul_span payload;
    while (ul_peer_recv(b, &kind, from, &payload) == UL_OK) {
    }
    assert_int_equal(ul_p2p_pollset_wait(&ps, 3, 0, ready), UL_E_TIMEOUT);
    assert_false(ready[1]);
    /* Only the first n sockets are waited on. */
    assert_int_equal(ul_peer_broadcast(a, UL_PEER_VOTE, msg, sizeof msg), UL_OK);
    assert_int_equal(ul_p2p_pollset_wait(&ps, 1, 50, ready), UL_E_TIMEOUT);
    ul_peer_close(a);
    ul_peer_close(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_envelope_round_trip),
        cmocka_unit_test(test_envelope_noncanonical),
        cmocka_unit_test(test_envelope_limits),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_three_peers),
        cmocka_unit_test(test_attachment),
        cmocka_unit_test(test_unknown_sender),
        cmocka_unit_test(test_bad_messages_dropped),
        cmocka_unit_test(test_beyond_rcvmaxsize),
        cmocka_unit_test(test_recv_batch_bounded),
        cmocka_unit_test(test_send_never_waits),
        cmocka_unit_test(test_queue_delivers_in_order),
        cmocka_unit_test(test_max_payload_round_trip),
        cmocka_unit_test(test_local_address),
        cmocka_unit_test(test_poll),
        cmocka_unit_test(test_pollset),
    };
    if (getenv("UL_TEST_FILTER") != NULL) { /* e.g. UL_TEST_FILTER='test_poll' */
        cmocka_set_test_filter(getenv("UL_TEST_FILTER"));
    }
    return cmocka_run_group_tests(tests, setup, teardown);
}
