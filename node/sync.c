/* upledgerd's block sync: asks the peers' query endpoints (through ul_node_io) for their head,
 * fetches and verifies blocks from those ahead, and weighs the heads validators and endpoints
 * claim (p2p/claims.c) so a claim nobody serves stops steering it. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define SYNC_POLL_MS 250     /* an observer asks its peers for their head this often */
#define SYNC_CALL_MS 2000    /* one block-range request */
#define SYNC_PROBE_MS 500    /* one status request: a peer that is down costs the loop this long */
#define SYNC_BACKOFF_MS 2000 /* a peer that did not answer is left alone this long */
#define SYNC_BUDGET_MS 500   /* block sync yields to consensus and queries after this long */

static ul_err sync_call(ul_node *n, size_t peer, const ul_msg *req, ul_msg *rep, uint8_t **buf,
                        int timeout_ms)
{
    ul_cons *s = C(n);
    ul_err e = n->io->query(n->io->ctx, peer, req, rep, buf, timeout_ms);
    if (e == UL_E_TIMEOUT || e == UL_E_NET || e == UL_E_PROTOCOL) {
        s->sync_retry[peer] = ul_cons_now(n) + SYNC_BACKOFF_MS;
    }
    return e;
}

/* Fetches and applies blocks from one peer until we reach its head or the budget runs out.
 * The first block asked is our own head: the peer's commit for it is the one the next header's
 * time was computed from, which we adopt. Every block is executed and its commit verified. */
static ul_err sync_from(ul_node *n, size_t peer, uint64_t until, uint64_t deadline)
{
    while (ul_chain_height(n->chain) < until && ul_cons_now(n) < deadline) {
        uint64_t from = ul_chain_height(n->chain) ? ul_chain_height(n->chain) : 1;
        ul_msg req, rep;
        uint8_t *buf = NULL;
        ul_span blocks = {0}, commits = {0}, bi, ci;
        size_t nb = 0;
        ul_q_block_reply br;
        ul_q_block_req(&req, from, UL_MAX_BLOCK_RANGE);
        ul_err e = sync_call(n, peer, &req, &rep, &buf, SYNC_CALL_MS);
        if (e == UL_OK && ul_q_block_reply_read(&rep, &br) != UL_OK) {
            e = UL_E_PROTOCOL;
        }
        if (e == UL_OK) {
            blocks = br.blocks.wire, commits = br.commits.wire, nb = br.blocks.n;
        }
        for (uint64_t h = from;
             e == UL_OK && ul_msg_list_next(&blocks, &bi) && ul_msg_list_next(&commits, &ci); h++) {
            if (h == ul_chain_height(n->chain)) {
                e = ul_chain_replace_commit(n->chain, ci.ptr, ci.len);
            } else {
                e = ul_chain_apply(n->chain, bi.ptr, bi.len, ci.ptr, ci.len);
                if (e == UL_OK) {
                    ul_pool_remove_block(C(n)->pool, bi.ptr, bi.len);
                }
            }
        }
        n->io->query_free(n->io->ctx, buf);
        if (e != UL_OK) {
            return e;
        }
        if (ul_chain_height(n->chain) < from) {
            return UL_E_PROTOCOL;
        }
        if (nb <= 1 && ul_chain_height(n->chain) == from) {
            break; /* the peer had nothing beyond our head */
        }
    }
    return UL_OK;
}

/* Logs that a claimer (validator index i, or peer endpoint i) was set aside. */
static void log_set_aside(ul_node *n, bool validator, size_t i, uint64_t after)
{
    ul_cons *s = C(n);
    char who[2 * 8 + 1];
    memcpy(who, "?", 2);
    if (validator && i < s->set.n) {
        ul_hex_encode(who, s->set.v[i].pubkey, 8);
    }
    ul_node_logl(UL_LOG_WARN,
                 "block sync: %s %s%s claimed a head above %llu and served no block in %d "
                 "passes; its claims are set aside for %d s (%llu times so far)",
                 validator ? "validator" : "peer", validator ? who : s->cfg.peer_rpc[i],
                 validator ? "…" : "", (unsigned long long)after, UL_CLAIM_MAX_STRIKES,
                 UL_CLAIM_IGNORE_MS / 1000,
                 (unsigned long long)(s->claims.set_aside + s->rpc_claims.set_aside));
}

/* Asks each peer's query endpoint for its head (a claim) and fetches verified blocks from
 * those ahead, until deadline. Endpoints whose claims are set aside are not asked. Out:
 * whether some peer answered, whether one is still ahead. Returns: false when the deadline cut
 * the pass short. */
static bool sync_pass(ul_node *n, uint64_t now, uint64_t deadline, bool *answered, bool *behind)
{
    ul_cons *s = C(n);
    for (size_t i = 0; i < s->cfg.n_peers; i++) {
        ul_msg req, rep;
        uint8_t *buf = NULL;
        uint64_t their = 0;
        if (now < s->sync_retry[i] || ul_claims_set_aside(&s->rpc_claims, i, now)) {
            continue;
        }
        if (ul_cons_now(n) >= deadline) {
            return false;
        }
        ul_q_status_reply st;
        ul_q_status_req(&req);
        ul_err e = sync_call(n, i, &req, &rep, &buf, SYNC_PROBE_MS);
        if (e == UL_OK && (e = ul_q_status_reply_read(&rep, &st)) == UL_OK) {
            their = st.height;
        }
        n->io->query_free(n->io->ctx, buf);
        *answered = *answered || e == UL_OK;
        if (e != UL_OK) {
            continue;
        }
        ul_claims_hear(&s->rpc_claims, i, their, ul_cons_now(n));
        if (their <= ul_chain_height(n->chain)) {
            (void)ul_claims_served(&s->rpc_claims, i, their, their, ul_cons_now(n)); /* reached */
            continue;
        }
        uint64_t from = ul_chain_height(n->chain);
        e = sync_from(n, i, their, deadline);
        *behind = *behind || ul_chain_height(n->chain) < their;
        /* Judged now, not after the pass: a claimer whose block requests time out takes the
         * pass's whole budget, so its passes are never whole. */
        if (ul_claims_served(&s->rpc_claims, i, from, ul_chain_height(n->chain), ul_cons_now(n))) {
            log_set_aside(n, false, i, ul_chain_height(n->chain));
        }
        if (e != UL_OK) {
            ul_node_logl(UL_LOG_WARN, "block sync from %s stopped at height %llu: %s (%s)",
                         s->cfg.peer_rpc[i], (unsigned long long)ul_chain_height(n->chain),
                         ul_err_str(e), ul_err_name(e));
        }
    }
    return true;
}

/* A whole pass that gained nothing counts against every validator's claim above us
 * (ul_claims_pass); the endpoints' claims are judged one by one as they are asked. */
static void judge_claims(ul_node *n, uint64_t before, uint64_t now)
{
    ul_cons *s = C(n);
    uint64_t after = ul_chain_height(n->chain);
    uint64_t v = ul_claims_pass(&s->claims, before, after, now);
    for (size_t i = 0; i < UL_MAX_PEERS; i++) {
        if (v >> i & 1) {
            log_set_aside(n, true, i, after);
        }
    }
}

void ul_sync_now(ul_node *n, uint64_t now)
{
    ul_cons *s = C(n);
    uint64_t before = ul_chain_height(n->chain), deadline = now + SYNC_BUDGET_MS;
    bool answered = false, behind = false;
    ul_pool_discard_pending(s->pool, n->chain);
    bool whole = sync_pass(n, now, deadline, &answered, &behind);
    ul_node_logl(UL_LOG_DEBUG, "block sync pass: height %llu to %llu (%s, %s)",
                 (unsigned long long)before, (unsigned long long)ul_chain_height(n->chain),
                 answered ? "peers answered" : "no peer answered", behind ? "behind" : "caught up");
    if (ul_chain_height(n->chain) != before) {
        if (n->verbose || ul_chain_height(n->chain) - before > 1 || s->cfg.observer == false) {
            ul_node_log("synced blocks %llu..%llu from peers", (unsigned long long)before + 1,
                        (unsigned long long)ul_chain_height(n->chain));
        }
        ul_cons_height_reset(s);
        s->last_commit_ms = ul_cons_now(n);
        (void)ul_cons_load_set(n);
    }
    if (whole || ul_chain_height(n->chain) != before) {
        judge_claims(n, before, ul_cons_now(n));
    }
    s->want_sync = ul_chain_height(n->chain) != before; /* keep going while it moves */
    ul_signlog_learn(&s->sign, ul_chain_height(n->chain), answered,
                     behind || s->want_sync || !whole);
}

/* Block sync's turn in the loop: syncs when a peer's claim shows we are behind, when we are an
 * observer, or while a node that lost its sign state learns the network's head. Returns: the
 * time after it. */
uint64_t ul_sync_step(ul_node *n, uint64_t now, long *next_ms)
{
    ul_cons *s = C(n);
    /* Behind: a peer is two blocks ahead, or one ahead while we have not committed for a
     * round's time (one block behind is normal for a moment after every commit). */
    uint64_t mine = ul_chain_height(n->chain), claimed = ul_claims_max(&s->claims, now);
    if (claimed > mine + 1 ||
        (claimed > mine && now > s->last_commit_ms + (uint64_t)s->cfg.round_timeout_ms)) {
        s->want_sync = true;
    }
    /* A node that lost its sign state polls its peers until it knows the network's head. */
    bool learning = ul_signlog_learning(&s->sign); /* a validator's (zero otherwise) */
    if (s->cfg.n_peers && (s->cfg.observer || s->want_sync || learning) && now >= s->next_sync) {
        ul_sync_now(n, now);
        /* A pass that gained nothing waits at least as long as it took (a claimer's requests
         * that time out take seconds), so consensus keeps at least half the loop's time. */
        uint64_t took = ul_cons_now(n) - now;
        s->next_sync = ul_cons_now(n) + (s->want_sync          ? 0
                                         : took > SYNC_POLL_MS ? took
                                                               : SYNC_POLL_MS);
        now = ul_cons_now(n);
    }
    if (learning) {
        ul_cons_at_most(next_ms, now, s->next_sync);
    }
    return now;
}

void ul_cons_sync_status(const ul_node *n, uint64_t *target, uint64_t *ignored)
{
    const ul_cons *s = C(n);
    uint64_t now = ul_cons_now(n), a = ul_claims_max(&s->claims, now),
             b = ul_claims_max(&s->rpc_claims, now);
    *target = a > b ? a : b;
    *ignored = s->claims.set_aside + s->rpc_claims.set_aside;
}
