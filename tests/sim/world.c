/* The whole-node simulator's world (world.h): the ul_node_io each simulated node runs on. The
 * simulator links the node's parts without node/io.c: ul_node_log and ul_node_now_ms are the
 * world's (logs tagged with the node and simulated time; the clock is simulated). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "world.h"

static sim_world *g_w; /* the world running (logs, the clock, randombytes) */
static ul_rng g_rb;    /* randombytes' stream: apart from the fault dice */

static const char *rb_name(void)
{
    return "upledger-nodesim";
}

static uint32_t rb_random(void)
{
    return (uint32_t)ul_rng_next(&g_rb);
}

static void rb_buf(void *const buf, const size_t size)
{
    uint8_t *p = buf;
    for (size_t i = 0; i < size; i++) {
        p[i] = (uint8_t)ul_rng_next(&g_rb);
    }
}

void sim_random_install(void)
{
    static struct randombytes_implementation impl = {
        .implementation_name = rb_name, .random = rb_random, .buf = rb_buf};
    ul_rng_seed(&g_rb, 1);
    randombytes_set_implementation(&impl);
    if (sodium_init() < 0) {
        abort();
    }
}

void sim_world_seed(sim_world *w, uint64_t seed)
{
    memset(w, 0, sizeof *w);
    ul_rng_seed(&w->rng, seed);
    ul_rng_seed(&g_rb, seed ^ 0x5eed5eed5eed5eedULL);
    w->cur = SIZE_MAX;
    g_w = w;
}

uint64_t ul_node_now_ms(void)
{
    return g_w ? g_w->now : 0;
}

static void sim_vlog(const char *level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

void ul_node_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sim_vlog("", fmt, ap);
    va_end(ap);
}

void ul_node_logl(ul_nlog_level lv, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sim_vlog(lv == UL_LOG_ERROR ? "error: " : lv == UL_LOG_WARN ? "warn: " : "", fmt, ap);
    va_end(ap);
}

static void sim_vlog(const char *level, const char *fmt, va_list ap)
{
    char line[200], tag[48];
    vsnprintf(line, sizeof line, fmt, ap);
    if (!g_w) {
        return;
    }
    if (g_w->cur < SIZE_MAX) {
        snprintf(tag, sizeof tag, "t=%" PRIu64 " n%zu", g_w->now, g_w->cur);
    } else {
        snprintf(tag, sizeof tag, "t=%" PRIu64 " sim", g_w->now);
    }
    if (g_w->verbose) {
        fprintf(stderr, "%s: %s%s\n", tag, level, line);
    }
    snprintf(g_w->logs[g_w->nlogs++ % SIM_LOGLINES], sizeof g_w->logs[0], "%s: %s%s", tag, level,
             line);
}

void sim_log_dump(const sim_world *w)
{
    size_t n = w->nlogs < SIM_LOGLINES ? w->nlogs : SIM_LOGLINES;
    for (size_t k = w->nlogs - n; k < w->nlogs; k++) {
        fprintf(stderr, "  %s\n", w->logs[k % SIM_LOGLINES]);
    }
}

uint64_t sim_node_now(const sim_node *nd)
{
    uint64_t t = nd->busy > nd->w->now ? nd->busy : nd->w->now;
    return (uint64_t)((int64_t)t + nd->skew);
}

static uint64_t io_now(void *ctx)
{
    return sim_node_now(ctx);
}

static bool io_true(void *ctx)
{
    (void)ctx;
    return true;
}

static ul_err io_allow(void *ctx, const uint8_t (*keys)[UL_PUBKEY_BYTES], size_t n)
{
    (void)ctx, (void)keys, (void)n;
    return UL_OK;
}

static void push(sim_node *to, const sim_node *from, uint32_t kind, const uint8_t *p, size_t len,
                 const uint8_t *at, size_t alen)
{
    sim_world *w = to->w;
    if (to->nq == SIM_QMAX) {
        w->n_drop++; /* the transport's queue is full */
        return;
    }
    sim_msg *m = &to->q[to->nq++];
    m->kind = kind;
    memcpy(m->from, ul_key_pubkey(w->keys[from->val]), UL_PUBKEY_BYTES);
    m->p = malloc(len ? len : 1);
    m->a = at ? malloc(alen ? alen : 1) : NULL;
    if (!m->p || (at && !m->a)) {
        abort();
    }
    memcpy(m->p, p, len);
    m->len = len;
    if (at) {
        memcpy(m->a, at, alen);
    }
    m->alen = alen;
    m->at = w->now + 1 + (w->faults_on ? ul_rng_below(&w->rng, w->f.delay_max) : 0);
    m->seq = w->seq++;
    w->n_msgs++;
}

void sim_deliver(sim_node *a, uint32_t kind, const uint8_t *p, size_t len, const uint8_t *at,
                 size_t alen)
{
    sim_world *w = a->w;
    for (size_t j = 0; j < w->nn; j++) {
        sim_node *b = &w->node[j];
        if (b == a || b->val == a->val || !b->up || b->group != a->group) {
            continue;
        }
        if (w->faults_on && ul_rng_below(&w->rng, 100) < w->f.drop_pct) {
            w->n_drop++;
            continue;
        }
        push(b, a, kind, p, len, at, alen);
        if (w->faults_on && ul_rng_below(&w->rng, 100) < w->f.dup_pct) {
            w->n_dup++;
            push(b, a, kind, p, len, at, alen);
        }
    }
}

static ul_err io_broadcast(void *ctx, uint32_t kind, const uint8_t *p, size_t len)
{
    sim_node *a = ctx;
    if (a->byz && a->w->f.claim && kind == UL_PEER_STATUS) {
        sim_claim_max(a); /* its every status claims 2^64-1 */
        return UL_OK;
    }
    sim_deliver(a, kind, p, len, NULL, 0);
    return UL_OK;
}

static ul_err io_send(void *ctx, uint32_t kind, const uint8_t *p, size_t len, const uint8_t *a,
                      size_t alen)
{
    sim_deliver(ctx, kind, p, len, a, alen);
    return UL_OK;
}

static ul_err io_flush(void *ctx)
{
    (void)ctx;
    return UL_OK;
}

static size_t io_queued(void *ctx)
{
    (void)ctx;
    return 0;
}

static void msg_free(sim_msg *m)
{
    free(m->p);
    free(m->a);
    memset(m, 0, sizeof *m);
}

void sim_queue_clear(sim_node *nd)
{
    for (size_t k = 0; k < nd->nq; k++) {
        msg_free(&nd->q[k]);
    }
    nd->nq = 0;
    msg_free(&nd->cur);
}

/* The next message due (earliest due time, then send order): delays reorder messages. */
static ul_err io_recv(void *ctx, uint32_t *kind, uint8_t from32[UL_PUBKEY_BYTES], ul_span *payload,
                      ul_span *attach, bool *has_attach)
{
    sim_node *nd = ctx;
    size_t best = SIZE_MAX;
    msg_free(&nd->cur);
    for (size_t k = 0; k < nd->nq; k++) {
        const sim_msg *m = &nd->q[k];
        if (m->at <= nd->w->now && (best == SIZE_MAX || m->at < nd->q[best].at ||
                                    (m->at == nd->q[best].at && m->seq < nd->q[best].seq))) {
            best = k;
        }
    }
    if (best == SIZE_MAX) {
        return UL_E_TIMEOUT;
    }
    nd->cur = nd->q[best];
    nd->q[best] = nd->q[--nd->nq];
    *kind = nd->cur.kind;
    memcpy(from32, nd->cur.from, UL_PUBKEY_BYTES);
    *payload = (ul_span){nd->cur.p, nd->cur.len};
    *has_attach = nd->cur.a != NULL;
    *attach = (ul_span){nd->cur.a, nd->cur.alen};
    return UL_OK;
}

static int io_socket(void *ctx)
{
    (void)ctx;
    return -1;
}

static void io_stats(void *ctx, ul_peer_stats *out)
{
    (void)ctx;
    memset(out, 0, sizeof *out);
}

void sim_claim_max(sim_node *a)
{
    ul_msg m;
    uint8_t buf[64];
    size_t len;
    ul_msg_init(&m);
    ul_msg_uint(&m, 1, UINT64_MAX);
    if (ul_msg_encode(buf, sizeof buf, &len, &m) == UL_OK) {
        sim_deliver(a, UL_PEER_STATUS, buf, len, NULL, 0);
    }
}

/* A Byzantine endpoint claims the highest head there is (2^64-1) in its status reply. */
static ul_err claim_max(uint8_t **out, size_t *olen)
{
    ul_msg m;
    ul_q_status_reply st;
    ul_err e = ul_msg_decode(&m, *out, *olen);
    if (e == UL_OK && (e = ul_q_status_reply_read(&m, &st)) == UL_OK) {
        st.height = UINT64_MAX;
        ul_msg_init(&m);
        ul_q_status_reply_put(&m, &st);
        size_t cap = ul_msg_encoded_max(&m);
        uint8_t *b = malloc(cap);
        if (!b) {
            return UL_E_NOMEM;
        }
        if ((e = ul_msg_encode(b, cap, olen, &m)) != UL_OK) {
            free(b);
            return e;
        }
        free(*out);
        *out = b;
    }
    return e;
}

/* One request to peer i's query endpoint: ul_node_handle of that node, in process. A node down,
 * across a partition or losing the request costs the caller the timeout; an answer costs it a
 * network delay. The Byzantine endpoint claims 2^64-1 and withholds blocks (or all answers)
 * when told to. */
static ul_err io_query(void *ctx, size_t peer, const ul_msg *req, ul_msg *reply, uint8_t **buf,
                       int timeout_ms)
{
    sim_node *a = ctx;
    sim_world *w = a->w;
    uint8_t *rb = NULL, *out = NULL;
    size_t rlen, olen, cap = ul_msg_encoded_max(req);
    ul_err e = UL_OK;
    *buf = NULL;
    if (peer >= a->cfg.n_peers) {
        return UL_E_ARG;
    }
    sim_node *b = &w->node[a->peer_node[peer]];
    uint64_t t0 = a->busy > w->now ? a->busy : w->now;
    w->n_query++;
    bool lost = w->faults_on && ul_rng_below(&w->rng, 100) < w->f.drop_pct;
    ul_q_req q;
    uint64_t method = ul_q_req_read(req, &q) == UL_OK ? q.method : 0;
    bool withheld = b->byz && ((w->f.withhold && method == UL_RPC_BLOCK) || w->f.silent);
    if (!b->up || b->group != a->group || lost || withheld) {
        a->busy = t0 + (uint64_t)timeout_ms;
        return UL_E_TIMEOUT;
    }
    a->busy = t0 + 1 + (w->faults_on ? ul_rng_below(&w->rng, w->f.delay_max) : 0);
    if (!(rb = malloc(cap)) || ul_msg_encode(rb, cap, &rlen, req) != UL_OK) {
        free(rb);
        return UL_E_NOMEM;
    }
    size_t saved = w->cur;
    w->cur = b->i;
    ul_node_handle(&b->node, rb, rlen, &out, &olen);
    w->cur = saved;
    free(rb);
    if (b->byz && w->f.claim && method == UL_RPC_STATUS) {
        e = claim_max(&out, &olen);
    }
    if (e == UL_OK && (e = ul_msg_decode(reply, out, olen)) != UL_OK) {
        e = UL_E_PROTOCOL;
    }
    if (e != UL_OK) {
        free(out);
        return e;
    }
    *buf = out;
    return UL_OK;
}

static void io_query_free(void *ctx, uint8_t *buf)
{
    (void)ctx;
    free(buf);
}

/* The sign state "file": kept in the world, durable once a save returns; a full disk refuses
 * the write as the file system would. */
static ul_err io_sign_load(void *ctx, ul_sign_state *out, const char *path,
                           const uint8_t pubkey[UL_PUBKEY_BYTES])
{
    sim_node *nd = ctx;
    (void)path;
    if (!nd->sign_exists) {
        return UL_E_NOT_FOUND;
    }
    if (memcmp(nd->sign.pubkey, pubkey, UL_PUBKEY_BYTES) != 0) {
        return UL_E_SIGN_STATE;
    }
    *out = nd->sign;
    return UL_OK;
}

static ul_err io_sign_save(void *ctx, const char *path, const ul_sign_state *st)
{
    sim_node *nd = ctx;
    (void)path;
    if (nd->full_until > nd->w->now && nd->w->sign_full) {
        return UL_E_NO_SPACE;
    }
    nd->sign = *st;
    nd->sign_exists = true;
    return UL_OK;
}

static ul_err io_sign_advance(void *ctx, ul_sign_state *st, const char *path, uint64_t height,
                              uint64_t round, uint64_t step, const uint8_t *lock_hash)
{
    ul_sign_state next;
    ul_err e = ul_signstate_next(&next, st, height, round, step, lock_hash);
    if (e == UL_OK && (e = io_sign_save(ctx, path, &next)) == UL_OK) {
        *st = next;
    }
    return e;
}

static ul_err io_chain_open(void *ctx, ul_chain **out, const char *db, const uint8_t *genesis,
                            size_t glen)
{
    (void)db;
    return ul_chain_open_mem(out, ((sim_node *)ctx)->disk, genesis, glen);
}

void sim_io_init(sim_node *nd)
{
    nd->io = (ul_node_io){.ctx = nd,
                          .now_ms = io_now,
                          .has_peer = io_true,
                          .peer_allow = io_allow,
                          .peer_broadcast = io_broadcast,
                          .peer_send = io_send,
                          .peer_flush = io_flush,
                          .peer_queued = io_queued,
                          .peer_recv = io_recv,
                          .peer_socket = io_socket,
                          .peer_stats = io_stats,
                          .query = io_query,
                          .query_free = io_query_free,
                          .sign_load = io_sign_load,
                          .sign_save = io_sign_save,
                          .sign_advance = io_sign_advance,
                          .chain_open = io_chain_open};
}
