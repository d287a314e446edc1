/* upledgerd's consensus driver, the loop's side: opens and closes the driver, gives each part
 * its turn (ul_cons_step: gossip, the full-disk stall, block sync, starting heights, timeouts,
 * re-sends, status) and answers STATUS. The parts: driver.c runs the Tendermint core
 * (ledger/bft.c), send.c and recv.c its messages, gossip.c and pool.c the transactions, sync.c
 * block sync, signlog.c the sign state, held.c the votes and proposals; io.h is all they reach
 * outside. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define STATUS_MS 1000 /* a validator tells its peers its head this often */
#define FLUSH_MS 2     /* queued peer messages are retried this often at first... */
/* ...and, while retries move nothing (a peer down: its PUSH socket has no connection), ever
 * less often up to this: a 2 ms retry loop kept the other validators at 3 times their idle CPU
 * for as long as one peer was down. nanomsg reconnects every 100 ms by default anyway. */
#define FLUSH_MAX_MS 100
#define STALL_RETRY_MS 500 /* a store whose writes failed (a full disk) is retried this often */
/* Pooled txs go to peers at most this often: each gossip envelope costs its sender a signature
 * and every peer a verify and a wake-up, so clients' small batches (1000 releases/s arrived as
 * ~100 batches/s per validator) are gathered into a few envelopes. Within BLOCK_GAP_MS, so a tx
 * reaches the next proposer before its block is built. 100 ms instead of 50 cut the
 * 4-validator benchmark's CPU per release at 1000/s by ~8%; 200 instead of 100 by another ~4-8%
 * in three paired runs (validators' CPU in the same 8 s: 305/379, 307/355, 288/300 ticks) for
 * ~+70 ms of commit latency p99 (about 440 to 510 ms). */
#define GOSSIP_MS 200
/* The metrics page (node/metrics.h) is refreshed this often for readers on other threads (the
 * HTTP layer): Prometheus scrapes every 15 s or so; the store size costs a directory scan. */
#define METRICS_MS 1000

/* Starts the next height and replays what peers sent for it before it started. */
static void start_height(ul_node *n)
{
    if (ul_cons_start_height(n)) {
        ul_recv_replay_future(n);
    }
}

/* After the store takes writes again: commits the block decided meanwhile, or, when a failed
 * write landed after all (the head moved), moves on from it as after a commit. */
static void unstall(ul_node *n, uint64_t before)
{
    ul_cons *s = C(n);
    ul_bft_action a = s->stalled_commit;
    s->stalled_commit.kind = 0;
    s->stalled = UL_OK;
    ul_pool_unmark_pending(s->pool); /* the recovery discarded the pending block */
    ul_node_log("the store takes writes again at height %llu; %zu transactions pooled",
                (unsigned long long)ul_chain_height(n->chain), s->pool->n);
    bool landed = ul_chain_height(n->chain) != before;
    uint64_t signed_by = 0; /* precommits really signed: the core counted ours regardless */
    for (uint32_t i = 0; a.kind == UL_BFT_ACT_COMMIT && i < s->set.n; i++) {
        signed_by |=
            (uint64_t)(ul_held_vote_find(s->held, a.round, UL_VOTE_PRECOMMIT, i, a.value) != NULL)
            << i;
    }
    if (a.kind == UL_BFT_ACT_COMMIT && !landed && a.height == ul_cons_next_height(n) &&
        ul_bft_quorum(&s->set, signed_by)) {
        ul_cons_act_commit(n, &a);
        if (ul_chain_height(n->chain) != before) {
            return;
        }
    }
    if (landed) {
        ul_held_prop *p =
            a.kind == UL_BFT_ACT_COMMIT ? ul_held_prop_find(s->held, a.value, -1) : NULL;
        if (p) {
            ul_pool_remove_block(s->pool, p->block, p->blen);
        }
        s->last_commit_ms = ul_cons_now(n);
        (void)ul_cons_load_set(n);
    }
    /* The core counted this node's votes when it asked for them, signed or not: the height
     * starts again, one round above the last signature recorded (begin_height). */
    ul_cons_height_reset(s);
}

/* While the store refuses writes (a full disk; ul_store_fault): says so once with LevelDB's
 * words (the path), keeps the pool and the decided block, and retries the store every
 * STALL_RETRY_MS. Returns: true while stalled (timers, new heights and block sync wait). */
static bool stall_step(ul_node *n, uint64_t now, long *next_ms)
{
    ul_cons *s = C(n);
    const char *text;
    ul_err fault = ul_store_fault(ul_chain_store(n->chain), &text);
    if (fault != UL_E_NO_SPACE && fault != UL_E_STORE) {
        return false;
    }
    if (s->stalled != fault) {
        s->stalled = fault;
        ul_node_logl(UL_LOG_ERROR,
                     "%s (%s): %s; no blocks until the store takes writes again (%zu transactions "
                     "kept in the pool; retried every %d ms)",
                     ul_err_str(fault), ul_err_name(fault), text, s->pool->n, STALL_RETRY_MS);
    }
    if (now >= s->next_recover) {
        uint64_t before = ul_chain_height(n->chain);
        s->next_recover = now + STALL_RETRY_MS;
        if (ul_chain_recover(n->chain) == UL_OK) {
            unstall(n, before);
            return false;
        }
    }
    ul_cons_at_most(next_ms, now, s->next_recover);
    return true;
}

void ul_cons_step(ul_node *n, uint64_t now, long *next_ms)
{
    ul_cons *s = C(n);
    *next_ms = 1000;
    if (now >= s->next_metrics) {
        ul_cons_metrics_sample(n);
        s->next_metrics = now + METRICS_MS;
    }
    bool to_gossip = s->peer && s->pool->n_gossip > 0;
    if (to_gossip && now >= s->next_gossip) {
        ul_gossip_send(n);
        s->next_gossip = now + GOSSIP_MS;
    } else if (to_gossip) {
        ul_cons_at_most(next_ms, now, s->next_gossip);
    }
    if (stall_step(n, now, next_ms)) {
        return;
    }
    now = ul_sync_step(n, now, next_ms);
    if (s->cfg.n_peers && s->cfg.observer) {
        ul_cons_at_most(next_ms, now, s->next_sync);
        return;
    }
    uint64_t due;
    if (s->alone) {
        return;
    }
    ul_ckpt_step(s->ckpt, n->chain, n->key, n->io, !s->want_sync && !s->sign.missing, now, next_ms);
    if (!s->started && ul_cons_height_due(n, now, &due)) {
        start_height(n);
    } else if (!s->started) {
        ul_cons_at_most(next_ms, now, due);
    }
    ul_cons_retry_unsigned(n, now, next_ms);
    ul_cons_expire_timers(n, now);
    if (s->started && now >= s->next_resend) {
        ul_cons_resend(n);
        s->next_resend = now + RESEND_MS;
    }
    if (s->peer && now >= s->next_status) {
        ul_cons_send_status(n);
        s->next_status = now + STATUS_MS;
    }
    if (s->started) {
        ul_cons_at_most(next_ms, now, s->next_resend);
    }
    for (size_t i = 0; i < s->n_timers; i++) {
        ul_cons_at_most(next_ms, now, s->timers[i].due);
    }
    if (s->peer) {
        ul_cons_at_most(next_ms, now, s->next_status);
        /* What waited for a busy connection goes out in order; retried sooner while it moves. */
        size_t before = n->io->peer_queued(n->io->ctx);
        (void)n->io->peer_flush(n->io->ctx);
        size_t after = n->io->peer_queued(n->io->ctx);
        s->flush_ms = after < before || s->flush_ms < FLUSH_MS ? FLUSH_MS : s->flush_ms;
        if (after > 0) {
            ul_cons_at_most(next_ms, now, now + (uint64_t)s->flush_ms);
            s->flush_ms = s->flush_ms * 2 > FLUSH_MAX_MS ? FLUSH_MAX_MS : s->flush_ms * 2;
        }
    }
    if (!s->started && ul_cons_height_due(n, now, &due)) {
        *next_ms = 0; /* the commit just made leaves work queued */
    }
}

void ul_cons_figures(const ul_node *n, uint64_t *pooled_n, uint64_t *round, ul_peer_stats *peers)
{
    const ul_cons *s = C(n);
    *pooled_n = s->pool->n;
    *round = s->started ? ul_bft_round_now(&s->bft) : 0;
    memset(peers, 0, sizeof *peers);
    if (s->peer) {
        n->io->peer_stats(n->io->ctx, peers);
    }
}

bool ul_cons_sign_status(const ul_node *n, uint64_t last[4], ul_err *refusing, uint64_t *until)
{
    const ul_cons *s = C(n);
    if (!n->key || s->cfg.observer) {
        return false;
    }
    const ul_signlog *l = &s->sign;
    last[0] = l->st.height, last[1] = l->st.round, last[2] = l->st.step;
    last[3] = l->signed_count;
    *refusing = l->missing ? UL_E_SIGN_STATE : UL_OK;
    *until = l->missing && l->floor_known ? l->floor : 0;
    return true;
}

ul_metrics *ul_node_metrics(const ul_node *n)
{
    return C(n)->metrics;
}

/* The peer transport's counters, the sign state's and the store's, as they stand. */
static void sample_counters(ul_node *n, ul_metrics *m)
{
    ul_peer_stats ps;
    uint64_t pooled, round;
    ul_cons_figures(n, &pooled, &round, &ps);
    ul_metrics_set(m, UL_M_TXS_POOLED, pooled);
    ul_metrics_set(m, UL_M_ROUND, round);
    ul_metrics_set(m, UL_M_PEERS, C(n)->cfg.n_peers);
    ul_metrics_set(m, UL_M_PEERS_CONNECTED, ps.connected);
    ul_metrics_set(m, UL_M_ENV_SENT, ps.sent);
    ul_metrics_set(m, UL_M_ENV_RECEIVED, ps.received);
    ul_metrics_set(m, UL_M_DROP_SEND, ps.send_dropped);
    ul_metrics_set(m, UL_M_DROP_MALFORMED, ps.malformed);
    ul_metrics_set(m, UL_M_DROP_OVERSIZED, ps.oversized);
    ul_metrics_set(m, UL_M_DROP_BAD_SIG, ps.bad_sig);
    ul_metrics_set(m, UL_M_DROP_UNKNOWN, ps.unknown_sender);
    const ul_signlog *l = &C(n)->sign;
    ul_metrics_set(m, UL_M_SIGNED, l->signed_count);
    ul_metrics_set(m, UL_M_FSYNC_SIGN_N, l->sync_count);
    ul_metrics_set(m, UL_M_FSYNC_SIGN_NS, l->sync_ns);
    ul_store_sync_stats ss;
    ul_store_sync_stats_get(ul_chain_store(n->chain), &ss);
    ul_metrics_set(m, UL_M_FSYNC_STORE_N, ss.count);
    ul_metrics_set(m, UL_M_FSYNC_STORE_NS, ss.ns);
}

void ul_cons_metrics_sample(ul_node *n)
{
    ul_metrics *m = C(n)->metrics;
    uint64_t height = ul_chain_height(n->chain), target, ignored, approx, disk;
    ul_metrics_set(m, UL_M_HEIGHT, height);
    ul_metrics_set(m, UL_M_LOG_SIZE, ul_chain_log_size(n->chain));
    ul_metrics_set(m, UL_M_TXS_COMMITTED, ul_chain_txs_committed(n->chain));
    ul_cons_sync_status(n, &target, &ignored);
    ul_metrics_set(m, UL_M_SYNC_TARGET, target);
    ul_metrics_set(m, UL_M_SYNC_BEHIND, target > height ? target - height : 0);
    ul_store_size(ul_chain_store(n->chain), &approx, &disk);
    ul_metrics_set(m, UL_M_STORE_BYTES, approx);
    ul_metrics_set(m, UL_M_STORE_DISK_BYTES, disk);
    ul_metrics_set(m, UL_M_SIG_VERIFY, ul_sig_verify_count());
    sample_counters(n, m);
}

ul_err ul_cons_sign_fault(const ul_node *n, const char **text)
{
    const ul_cons *s = C(n);
    *text = s->sign.fault_text;
    return s->sign.fault;
}

void ul_cons_finish(ul_node *n)
{
    ul_cons *s = C(n);
    /* A lone validator decides alone, synchronously: what it pooled is committed before it
     * stops. With peers the pool waits for the next start (clients see it not committed). */
    if (!s->cfg.n_peers && s->self >= 0 && !s->alone && s->pool->n > 0) {
        for (int i = 0; i < 4 && s->pool->n > 0; i++) {
            if (!s->started) {
                start_height(n);
            }
        }
    }
    ul_signlog_stop(&s->sign, ul_chain_height(n->chain));
    if (s->pool->n > 0) { /* the pool lives in memory only: say what a restart loses */
        ul_node_log("stopping with %zu transactions pooled, not committed%s%s: they are not kept "
                    "across a restart (their clients see them not committed and resubmit)",
                    s->pool->n, s->stalled ? ": " : "", s->stalled ? ul_err_str(s->stalled) : "");
    }
}

int ul_cons_socket(const ul_node *n)
{
    return n->io->peer_socket(n->io->ctx);
}

ul_err ul_cons_open(ul_node *n, const ul_node_cfg *cfg)
{
    ul_cons *s = calloc(1, sizeof *s);
    if (!s) {
        return UL_E_NOMEM;
    }
    n->cons = s;
    s->io = n->io;
    if (!(s->metrics = ul_metrics_create())) {
        return UL_E_NOMEM;
    }
    s->peer = n->io->has_peer(n->io->ctx);
    s->cfg = *cfg;
    if (ul_held_create(&s->held) != UL_OK || ul_pool_create(&s->pool) != UL_OK) {
        return UL_E_NOMEM;
    }
    if (ul_ckpt_open(&s->ckpt, cfg->observer ? 0 : cfg->checkpoint_ms) != UL_OK) {
        return UL_E_NOMEM;
    }
    ul_claims_init(&s->claims);
    ul_claims_init(&s->rpc_claims);
    /* Vote timeouts: half the propose timeout; each round adds half again (paper, section 3). */
    uint64_t t = (uint64_t)cfg->round_timeout_ms;
    ul_bft_config bc = {.base_ms = {t, t / 2 + 1, t / 2 + 1}, .delta_ms = {t / 2, t / 2, t / 2}};
    ul_err e = ul_bft_init(&s->bft, &bc);
    if (e != UL_OK) {
        return e;
    }
    if (n->key && !cfg->observer &&
        (e = ul_signlog_open(&s->sign, n->io, n->chain, n->key, s->cfg.sign_state,
                             cfg->n_peers > 0)) != UL_OK) {
        return e;
    }
    s->last_commit_ms = ul_cons_now(n);
    s->want_sync = cfg->n_peers > 0; /* a node that was down catches up before it votes */
    return ul_cons_load_set(n);
}

void ul_cons_close(ul_node *n)
{
    ul_cons *s = n ? C(n) : NULL;
    if (!s) {
        return;
    }
    for (size_t i = 0; i < s->n_future; i++) {
        free(s->future[i].payload);
    }
    ul_signlog_close(&s->sign);
    ul_held_destroy(s->held);
    ul_pool_destroy(s->pool);
    ul_ckpt_close(s->ckpt);
    ul_metrics_destroy(s->metrics);
    free(s);
    n->cons = NULL;
}
