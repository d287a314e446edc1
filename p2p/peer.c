/* Peer transport between nodes: one nanomsg PULL socket to receive, one PUSH socket per peer to
 * send, every message a signed ul_envelope. Sending never waits and receiving never fails on what
 * a peer sends: both drop and count instead, so a slow or hostile peer costs bounded memory and
 * time. With p2p/transport.c, the only file that includes nanomsg. */
#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <nanomsg/nn.h>
#include <nanomsg/pipeline.h>

#include "ul_p2p.h"

/* nanomsg retries a lost connection every 100 ms at first; backing off to this keeps a peer that
 * is down for long from costing a connection attempt ten times a second, while one that comes
 * back is reached within a second. */
#define RECONNECT_IVL_MAX_MS 1000

/* One signed envelope, shared by the queues of every peer it is for. */
typedef struct {
    size_t refs, len;
    uint8_t data[];
} envbuf;

typedef struct {
    envbuf *q[UL_PEER_QUEUE_MSGS]; /* ring: head, n */
    size_t head, n, bytes;
} outq;

struct ul_peer {
    uint8_t chain_id[UL_HASH_BYTES];
    const ul_key *key; /* NULL: receive only */
    int pull;          /* -1: no listen endpoint */
    size_t n_push;
    int push[UL_MAX_PEERS];
    outq out[UL_MAX_PEERS];
    size_t n_allowed;
    uint8_t allowed[UL_MAX_PEERS][UL_PUBKEY_BYTES];
    /* UL_MAX_PEER_ENVELOPE_BYTES, allocated once: the signed bytes of an envelope being made or
     * checked, then the envelope being sent. */
    uint8_t *scratch;
    void *held;     /* the nanomsg message the last payload returned points into */
    ul_span attach; /* the last message's attachment (into held), {NULL, 0} without one */
    bool has_attach;
    ul_peer_stats st;
};

static ul_err sock_opt(int s, int opt, int val)
{
    return nn_setsockopt(s, NN_SOL_SOCKET, opt, &val, sizeof val) < 0 ? UL_E_NET : UL_OK;
}

/* Options are set before bind/connect: nanomsg copies them into each endpoint it creates. */
static ul_err open_pull(int *out, const char *endpoint)
{
    int s = nn_socket(AF_SP, NN_PULL);
    if (s < 0) {
        return UL_E_NET;
    }
    ul_err e = sock_opt(s, NN_RCVBUF, UL_PEER_RCVBUF);
    if (e == UL_OK) {
        e = sock_opt(s, NN_RCVMAXSIZE, UL_MAX_PEER_ENVELOPE_BYTES);
    }
    if (e == UL_OK && nn_bind(s, endpoint) < 0) {
        e = errno == EADDRINUSE ? UL_E_EXISTS : UL_E_CONFIG;
    }
    if (e != UL_OK) {
        nn_close(s);
        return e;
    }
    *out = s;
    return UL_OK;
}

static ul_err open_push(int *out, const char *endpoint)
{
    int s = nn_socket(AF_SP, NN_PUSH);
    if (s < 0) {
        return UL_E_NET;
    }
    ul_err e = sock_opt(s, NN_SNDBUF, UL_PEER_SNDBUF);
    if (e == UL_OK) {
        e = sock_opt(s, NN_LINGER, 0);
    }
    if (e == UL_OK) {
        e = sock_opt(s, NN_RECONNECT_IVL_MAX, RECONNECT_IVL_MAX_MS);
    }
    /* nn_connect only parses and starts connecting: a peer that is down is no error here. */
    if (e == UL_OK && nn_connect(s, endpoint) < 0) {
        e = UL_E_CONFIG;
    }
    if (e != UL_OK) {
        nn_close(s);
        return e;
    }
    *out = s;
    return UL_OK;
}

ul_err ul_peer_open(ul_peer **out, const uint8_t chain_id32[UL_HASH_BYTES], const ul_key *key,
                    const char *listen, const char *const *peers, size_t n_peers)
{
    if (out == NULL || chain_id32 == NULL || (peers == NULL && n_peers > 0)) {
        return UL_E_ARG;
    }
    *out = NULL;
    if (n_peers > UL_MAX_PEERS) {
        return UL_E_LIMIT;
    }
    ul_peer *p = calloc(1, sizeof *p);
    if (p == NULL) {
        return UL_E_NOMEM;
    }
    p->pull = -1;
    memcpy(p->chain_id, chain_id32, UL_HASH_BYTES);
    p->key = key;
    p->scratch = malloc(UL_MAX_PEER_ENVELOPE_BYTES);
    ul_err e = p->scratch == NULL ? UL_E_NOMEM : UL_OK;
    if (e == UL_OK && listen != NULL) {
        e = open_pull(&p->pull, listen);
    }
    for (size_t i = 0; e == UL_OK && i < n_peers; i++) {
        e = peers[i] == NULL ? UL_E_CONFIG : open_push(&p->push[i], peers[i]);
        p->n_push += e == UL_OK ? 1 : 0;
    }
    if (e != UL_OK) {
        ul_peer_close(p);
        return e;
    }
    *out = p;
    return UL_OK;
}

void ul_peer_close(ul_peer *p)
{
    if (p == NULL) {
        return;
    }
    for (size_t i = 0; i < p->n_push; i++) {
        nn_close(p->push[i]);
        while (p->out[i].n > 0) {
            envbuf *b = p->out[i].q[p->out[i].head];
            p->out[i].head = (p->out[i].head + 1) % UL_PEER_QUEUE_MSGS;
            p->out[i].n--;
            if (--b->refs == 0) {
                free(b);
            }
        }
    }
    if (p->pull >= 0) {
        nn_close(p->pull);
    }
    if (p->held != NULL) {
        nn_freemsg(p->held);
    }
    free(p->scratch);
    free(p);
}

ul_err ul_peer_allow(ul_peer *p, const uint8_t (*keys)[UL_PUBKEY_BYTES], size_t n)
{
    if (p == NULL || (keys == NULL && n > 0)) {
        return UL_E_ARG;
    }
    if (n > UL_MAX_PEERS) {
        return UL_E_LIMIT;
    }
    if (n > 0) {
        memcpy(p->allowed, keys, n * UL_PUBKEY_BYTES);
    }
    p->n_allowed = n;
    return UL_OK;
}

static bool allowed(const ul_peer *p, const uint8_t key[UL_PUBKEY_BYTES])
{
    for (size_t i = 0; i < p->n_allowed; i++) {
        if (memcmp(p->allowed[i], key, UL_PUBKEY_BYTES) == 0) {
            return true;
        }
    }
    return false;
}

ul_err ul_peer_broadcast(ul_peer *p, uint32_t kind, const uint8_t *payload, size_t len)
{
    return ul_peer_send(p, kind, payload, len, NULL, 0);
}

ul_err ul_peer_send(ul_peer *p, uint32_t kind, const uint8_t *payload, size_t len,
                    const uint8_t *attach, size_t alen)
{
    if (p == NULL || p->key == NULL || kind < 1 || kind > UL_PEER_KIND_MAX ||
        (payload == NULL && len > 0) || (attach == NULL && alen > 0)) {
        return UL_E_ARG;
    }
    if (len > UL_MAX_PEER_PAYLOAD || alen > UL_MAX_PEER_PAYLOAD - len) {
        return UL_E_LIMIT;
    }
    ul_envelope env = {.kind = kind,
                       .payload = {payload, len},
                       .attach = {attach, alen},
                       .has_attach = attach != NULL};
    size_t n;
    memcpy(env.from, ul_key_pubkey(p->key), UL_PUBKEY_BYTES);
    ul_err e = ul_schema_envelope_signed_encode(p->scratch, UL_MAX_PEER_ENVELOPE_BYTES, &n, &env);
    if (e == UL_OK) {
        e = ul_key_sign(p->key, env.sig, UL_DOMAIN_PEER, p->chain_id, p->scratch, n);
    }
    if (e == UL_OK) {
        e = ul_schema_envelope_encode(p->scratch, UL_MAX_PEER_ENVELOPE_BYTES, &n, &env);
    }
    if (e != UL_OK) {
        return e;
    }
    envbuf *b = malloc(sizeof *b + n);
    if (b == NULL) {
        return UL_E_NOMEM;
    }
    memcpy(b->data, p->scratch, n);
    b->len = n;
    b->refs = 1; /* ours until every queue took its reference */
    for (size_t i = 0; i < p->n_push; i++) {
        outq *q = &p->out[i];
        if (q->n == UL_PEER_QUEUE_MSGS || q->bytes + n > UL_PEER_QUEUE_BYTES) {
            p->st.send_dropped++;
            continue;
        }
        q->q[(q->head + q->n) % UL_PEER_QUEUE_MSGS] = b;
        q->n++;
        q->bytes += n;
        b->refs++;
    }
    if (--b->refs == 0) {
        free(b);
    }
    return ul_peer_flush(p);
}

ul_err ul_peer_flush(ul_peer *p)
{
    ul_err e = UL_OK;
    if (p == NULL) {
        return UL_E_ARG;
    }
    /* nanomsg copies what it takes; a PUSH socket whose one connection is busy (its kernel buffer
     * full) or absent says EAGAIN at once: the rest waits in order for the next flush. */
    for (size_t i = 0; i < p->n_push; i++) {
        outq *q = &p->out[i];
        while (q->n > 0) {
            envbuf *b = q->q[q->head];
            int rc = nn_send(p->push[i], b->data, b->len, NN_DONTWAIT);
            if (rc < 0 && errno == EAGAIN) {
                break;
            }
            if (rc >= 0) {
                p->st.sent++;
            } else {
                p->st.send_dropped++;
                e = UL_E_NET;
            }
            q->head = (q->head + 1) % UL_PEER_QUEUE_MSGS;
            q->n--;
            q->bytes -= b->len;
            if (--b->refs == 0) {
                free(b);
            }
        }
    }
    return e;
}

size_t ul_peer_queued(const ul_peer *p)
{
    size_t n = 0;
    for (size_t i = 0; p != NULL && i < p->n_push; i++) {
        n += p->out[i].n;
    }
    return n;
}

int ul_peer_socket(const ul_peer *p)
{
    return p != NULL ? p->pull : -1;
}

/* Checks one received message; on UL_OK *env holds it (spans into buf). Counts what it drops. */
static ul_err check(ul_peer *p, const uint8_t *buf, size_t len, ul_envelope *env)
{
    size_t n;
    ul_err e =
        len > UL_MAX_PEER_ENVELOPE_BYTES ? UL_E_LIMIT : ul_schema_envelope_decode(env, buf, len);
    if (e == UL_E_LIMIT) {
        p->st.oversized++;
        return e;
    }
    if (e != UL_OK) {
        p->st.malformed++;
        return e;
    }
    if (!allowed(p, env->from)) {
        p->st.unknown_sender++;
        return UL_E_VALIDATOR;
    }
    /* A decoded envelope re-encodes to its own bytes, so its signed map always fits. */
    e = ul_schema_envelope_signed_encode(p->scratch, UL_MAX_PEER_ENVELOPE_BYTES, &n, env);
    if (e == UL_OK) {
        e = ul_sig_verify(env->sig, UL_DOMAIN_PEER, p->chain_id, p->scratch, n, env->from);
    }
    if (e != UL_OK) {
        p->st.bad_sig++;
    }
    return e;
}

ul_err ul_peer_recv(ul_peer *p, uint32_t *kind, uint8_t from32[UL_PUBKEY_BYTES], ul_span *payload)
{
    if (p == NULL || kind == NULL || from32 == NULL || payload == NULL) {
        return UL_E_ARG;
    }
    if (p->held != NULL) {
        nn_freemsg(p->held);
        p->held = NULL;
    }
    p->attach = (ul_span){NULL, 0};
    p->has_attach = false;
    if (p->pull < 0) {
        return UL_E_TIMEOUT;
    }
    for (size_t i = 0; i < UL_PEER_RECV_BATCH; i++) {
        void *buf = NULL;
        int r = nn_recv(p->pull, &buf, NN_MSG, NN_DONTWAIT);
        if (r < 0) {
            return errno == EAGAIN || errno == EINTR ? UL_E_TIMEOUT : UL_E_NET;
        }
        ul_envelope env;
        if (check(p, buf, (size_t)r, &env) != UL_OK) {
            nn_freemsg(buf);
            continue;
        }
        p->held = buf;
        p->st.received++;
        *kind = (uint32_t)env.kind;
        memcpy(from32, env.from, UL_PUBKEY_BYTES);
        *payload = env.payload;
        p->attach = env.attach;
        p->has_attach = env.has_attach;
        return UL_OK;
    }
    return UL_E_TIMEOUT;
}

bool ul_peer_attachment(const ul_peer *p, ul_span *attach)
{
    if (p == NULL || !p->has_attach) {
        return false;
    }
    if (attach != NULL) {
        *attach = p->attach;
    }
    return true;
}

void ul_peer_stats_get(const ul_peer *p, ul_peer_stats *out)
{
    if (p == NULL) {
        memset(out, 0, sizeof *out);
        return;
    }
    *out = p->st;
    out->connected = 0;
    for (size_t i = 0; i < p->n_push; i++) {
        out->connected += nn_get_statistic(p->push[i], NN_STAT_CURRENT_CONNECTIONS) > 0;
    }
}

ul_err ul_p2p_poll(const int *socks, size_t n, int timeout_ms, bool *ready)
{
    struct nn_pollfd pfd[UL_P2P_POLL_MAX];
    size_t idx[UL_P2P_POLL_MAX];
    size_t m = 0;
    if (n > UL_P2P_POLL_MAX) {
        return UL_E_LIMIT;
    }
    if (n > 0 && (socks == NULL || ready == NULL)) {
        return UL_E_ARG;
    }
    for (size_t i = 0; i < n; i++) {
        ready[i] = false;
        if (socks[i] >= 0) {
            pfd[m] = (struct nn_pollfd){.fd = socks[i], .events = NN_POLLIN, .revents = 0};
            idx[m++] = i;
        }
    }
    /* Nothing to watch: still wait the time out, as the caller's loop expects. */
    int r = m == 0 ? poll(NULL, 0, timeout_ms) : nn_poll(pfd, (int)m, timeout_ms);
    if (r < 0) {
        return UL_E_NET;
    }
    if (r == 0) {
        return UL_E_TIMEOUT;
    }
    for (size_t j = 0; j < m; j++) {
        if (pfd[j].revents & NN_POLLIN) {
            ready[idx[j]] = true;
        }
    }
    return UL_OK;
}

ul_err ul_p2p_pollset_init(ul_p2p_pollset *ps, const int *socks, size_t n)
{
    if (ps == NULL || (n > 0 && socks == NULL)) {
        return UL_E_ARG;
    }
    if (n > UL_P2P_POLL_MAX) {
        return UL_E_LIMIT;
    }
    ps->n = n;
    for (size_t i = 0; i < n; i++) {
        int fd = -1;
        size_t sz = sizeof fd;
        if (socks[i] >= 0 && nn_getsockopt(socks[i], NN_SOL_SOCKET, NN_RCVFD, &fd, &sz) != 0) {
            return UL_E_NET;
        }
        ps->fd[i] = fd;
    }
    return UL_OK;
}

ul_err ul_p2p_pollset_wait(const ul_p2p_pollset *ps, size_t n, int timeout_ms, bool *ready)
{
    struct pollfd pfd[UL_P2P_POLL_MAX];
    assert(ps && n <= ps->n && (n == 0 || ready));
    for (size_t i = 0; i < n; i++) {
        ready[i] = false;
        pfd[i] = (struct pollfd){.fd = ps->fd[i], .events = POLLIN, .revents = 0};
    }
    int r = poll(pfd, (nfds_t)n, timeout_ms); /* an fd of -1 is skipped by poll itself */
    if (r < 0) {
        return UL_E_NET;
    }
    if (r == 0) {
        return UL_E_TIMEOUT;
    }
    for (size_t i = 0; i < n; i++) {
        ready[i] = (pfd[i].revents & POLLIN) != 0;
    }
    return UL_OK;
}
