/* upledgerd's BFT driver: performs the Tendermint core's actions (ledger/bft.c) — builds and
 * signs proposals and votes, turns a decision into a commit, keeps timeouts — and starts each
 * height with its validator set and proposer rotation. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define RESEND_PROPOSAL_EVERY 4 /* our proposal (a whole block) goes out at every 4th re-send */
#define BATCH_WAIT_MS 5         /* a proposer waits this long after the first pooled tx for more */
/* A block of pooled txs starts at least this long after the last commit unless a full block's
 * worth waits: each block costs every validator a few signatures, verifies and fsyncs whatever
 * it holds, so at moderate load (1000 releases/s) back-to-back blocks of ~30 txs spent 5 times
 * the txs' own signature checks. 500 ms gathers ~530 at a commit latency p99 of 0.70-0.73 s on
 * the 4-validator benchmark (the target is 1 s). 400 ms cost 3-13% more CPU per release in three
 * paired runs (p99 0.63-0.65 s), 300 ms another 7-10% (p99 about 0.52 s). A network's first
 * transaction after idling does not wait: the gap counts from the last commit. */
#define BLOCK_GAP_MS 500
/* A validator without peers: its block costs it one signature and two syncs, no one's votes,
 * and a publisher waits on it (the embedded default): it keeps the 300 ms it had. */
#define LONE_BLOCK_GAP_MS 300
#define SIGN_RETRY_MS 500 /* a sign state that could not be written is tried this often */

static bool may_sign(ul_node *n, uint64_t height, uint32_t round, uint32_t step)
{
    return ul_signlog_may_sign(&C(n)->sign, height, round, step, NULL, (ul_span){0}, (ul_span){0});
}

/* Keeps action a to act again when signing it failed for want of a sign-state write. */
static void keep_unsigned(ul_cons *s, const ul_bft_action *a)
{
    if (s->sign.fault == UL_OK) {
        return; /* refused (signed past it already): never signed */
    }
    if (s->n_unsigned == MAX_UNSIGNED) { /* the oldest is for a round long gone */
        memmove(s->unsigned_acts, s->unsigned_acts + 1,
                (MAX_UNSIGNED - 1) * sizeof *s->unsigned_acts);
        s->n_unsigned--;
    }
    s->unsigned_acts[s->n_unsigned++] = *a;
}

void ul_cons_retry_unsigned(ul_node *n, uint64_t now, long *next_ms)
{
    ul_cons *s = C(n);
    if (s->n_unsigned == 0) {
        return;
    }
    if (now >= s->next_sign_retry && s->acts.n + s->n_unsigned <= UL_BFT_MAX_ACTIONS) {
        s->next_sign_retry = now + SIGN_RETRY_MS;
        memcpy(s->acts.a + s->acts.n, s->unsigned_acts, s->n_unsigned * sizeof *s->unsigned_acts);
        s->acts.n += s->n_unsigned;
        s->n_unsigned = 0;
        ul_cons_drain(n); /* those failing again are kept again */
    }
    if (s->n_unsigned) {
        ul_cons_at_most(next_ms, now, s->next_sign_retry);
    }
}

void ul_cons_height_reset(ul_cons *s)
{
    ul_held_clear(s->held);
    s->n_timers = 0;
    s->n_unsigned = 0;
    s->resends = 0;
    s->started = false;
}

void ul_cons_feed_proposal(ul_node *n, uint32_t from, uint32_t round,
                           const uint8_t hash[UL_HASH_BYTES], int32_t vr, bool valid)
{
    ul_cons *s = C(n);
    ul_err e =
        ul_bft_on_proposal(&s->bft, &s->acts, from, ul_cons_next_height(n), round, hash, vr, valid);
    if (e == UL_OK) {
        ul_cons_drain(n);
    }
}

/* Makes the pending block the block of held proposal p (its last commit first). */
ul_err ul_cons_prepare_prop(ul_node *n, const ul_held_prop *p)
{
    uint8_t h[UL_HASH_BYTES];
    ul_err e;
    if (ul_chain_sealed(n->chain, h) && memcmp(h, p->hash, UL_HASH_BYTES) == 0) {
        return UL_OK;
    }
    ul_pool_discard_pending(C(n)->pool, n->chain);
    if (p->lclen && (e = ul_chain_replace_commit(n->chain, p->lc, p->lclen)) != UL_OK) {
        return e;
    }
    if ((e = ul_chain_prepare_known(n->chain, p->block, p->blen, ul_pool_known, C(n)->pool, h)) !=
        UL_OK) {
        return e;
    }
    return memcmp(h, p->hash, UL_HASH_BYTES) == 0 ? UL_OK : UL_E_ROOT_MISMATCH;
}

/* getValue(): executes pooled txs into the pending block, seals it and proposes it. */
static void build_proposal(ul_node *n, uint32_t round)
{
    ul_cons *s = C(n);
    uint64_t h = ul_cons_next_height(n);
    uint8_t hash[UL_HASH_BYTES], *blk = NULL, *lc = NULL;
    size_t blen = 0, lclen = 0;
    if (!ul_cons_pending_open(n)) {
        ul_pool_discard_pending(s->pool, n->chain);
    }
    ul_pool_take_pending(s->pool, n->chain);
    ul_err e =
        ul_chain_seal(n->chain, ul_key_pubkey(n->key), ul_chain_next_time(n->chain), NULL, hash);
    if (e == UL_OK) {
        e = ul_chain_pending_block(n->chain, &blk, &blen);
    }
    if (e == UL_OK && ul_chain_height(n->chain) > 0) {
        e = ul_chain_commit_bytes(n->chain, ul_chain_height(n->chain), &lc, &lclen);
    }
    ul_held_prop *p = NULL;
    if (e == UL_OK && !(p = ul_held_prop_add(s->held, round, -1, hash, (ul_span){blk, blen},
                                             (ul_span){lc, lclen}))) {
        e = UL_E_NOMEM;
    }
    free(blk);
    free(lc);
    if (e != UL_OK) {
        ul_node_logl(UL_LOG_ERROR, "cannot build block %llu: %s (%s)", (unsigned long long)h,
                     ul_err_str(e), ul_err_name(e));
        ul_pool_discard_pending(s->pool, n->chain);
        return;
    }
    if (!may_sign(n, h, round, UL_SIGNLOG_PROPOSAL)) {
        keep_unsigned(s,
                      &(ul_bft_action){
                          .kind = UL_BFT_ACT_PROPOSAL, .height = h, .round = round, .nil = true});
        return;
    }
    ul_cons_send_proposal(n, p, round, -1);
    ul_cons_feed_proposal(n, (uint32_t)s->self, round, hash, -1, true);
}

static void act_vote(ul_node *n, const ul_bft_action *a)
{
    ul_cons *s = C(n);
    ul_vote v = {.type = a->vote_type, .height = a->height, .round = a->round};
    uint8_t bytes[UL_MAX_VOTE_BYTES], sig[UL_SIG_BYTES];
    size_t len;
    if (!a->nil) {
        memcpy(v.block_hash, a->value, UL_HASH_BYTES);
    }
    /* Precommit times make the next block's BFT time, which must move forward. */
    uint64_t now = ul_cons_now(n), floor = ul_chain_next_time(n->chain) + 1;
    v.time_ms = now > floor ? now : floor;
    ul_held_prop *p = a->vote_type == UL_VOTE_PRECOMMIT && !a->nil
                          ? ul_held_prop_find(s->held, a->value, -1)
                          : NULL;
    /* A precommit is signed only once what its lock record is made of is kept (may_sign). */
    ul_span block = p ? (ul_span){p->block, p->blen} : (ul_span){0};
    ul_span lc = p ? (ul_span){p->lc, p->lclen} : (ul_span){0};
    bool ok = ul_schema_vote_encode(bytes, sizeof bytes, &len, &v) == UL_OK &&
              ul_signlog_may_sign(
                  &s->sign, a->height, a->round,
                  a->vote_type == UL_VOTE_PREVOTE ? UL_SIGNLOG_PREVOTE : UL_SIGNLOG_PRECOMMIT,
                  a->vote_type == UL_VOTE_PRECOMMIT && !a->nil ? a->value : NULL, block, lc) &&
              ul_key_sign(n->key, sig, UL_DOMAIN_VOTE, ul_chain_id(n->chain), bytes, len) == UL_OK;
    if (!ok) {
        keep_unsigned(s, a);
        return;
    }
    ul_held_vote *h = ul_held_vote_add(s->held, &v, (uint32_t)s->self, bytes, len, sig);
    if (h) {
        ul_cons_send_vote(n, h);
    }
}

/* The core decided: assemble the commit from the held precommits and commit the block. */
void ul_cons_act_commit(ul_node *n, const ul_bft_action *a)
{
    ul_cons *s = C(n);
    ul_commit cm = {.height = a->height, .round = a->round};
    memcpy(cm.block_hash, a->value, UL_HASH_BYTES);
    for (uint32_t i = 0; i < s->set.n; i++) {
        ul_held_vote *v;
        if (!(a->signers >> i & 1) ||
            !(v = ul_held_vote_find(s->held, a->round, UL_VOTE_PRECOMMIT, i, a->value))) {
            continue;
        }
        cm.sigs[cm.n_sigs].index = i;
        cm.sigs[cm.n_sigs].time_ms = v->time_ms;
        memcpy(cm.sigs[cm.n_sigs++].sig, v->sig, UL_SIG_BYTES);
    }
    uint8_t buf[UL_MAX_COMMIT_BYTES], (*leaves)[UL_HASH_BYTES] = NULL;
    size_t len, txs = 0;
    ul_held_prop *p = ul_held_prop_find(s->held, a->value, -1);
    ul_err e = ul_schema_commit_encode(buf, sizeof buf, &len, &cm);
    if (e == UL_OK) {
        e = p ? ul_cons_prepare_prop(n, p) : UL_E_NOT_FOUND;
    }
    /* The block's leaf hashes, to take its txs out of the pool once it is committed. */
    if (e == UL_OK && (txs = ul_chain_pending_count(n->chain)) > 0 &&
        !(leaves = malloc(txs * sizeof *leaves))) {
        e = UL_E_NOMEM;
    }
    if (e == UL_OK) {
        txs = ul_chain_pending_leaves(n->chain, leaves, txs);
        e = ul_chain_commit(n->chain, buf, len);
    }
    ul_err fault = ul_store_fault(ul_chain_store(n->chain), NULL);
    if (e != UL_OK && (fault == UL_E_NO_SPACE || fault == UL_E_STORE)) {
        /* This disk failed (the commit's write, or a vote it could not record): keep the block
         * and the pool until the store takes writes again (stall_step), rather than lose the
         * txs to a sync that cannot write either. */
        s->stalled_commit = *a;
        ul_pool_unmark_pending(s->pool);
        free(leaves);
        return;
    }
    if (e == UL_OK) {
        ul_pool_remove_leaves(s->pool, leaves, txs); /* only now: a failed commit keeps its txs */
        uint64_t now = ul_cons_now(n);
        ul_metrics_commit_latency(s->metrics,
                                  now > s->height_start_ms ? now - s->height_start_ms : 0);
    }
    free(leaves);
    if (e != UL_OK) {
        /* Decided without the block (or it does not execute here): the peers that committed it
         * serve it; block sync fetches and verifies it. */
        ul_node_log("block %llu decided in round %u but not committed here: %s; syncing",
                    (unsigned long long)a->height, a->round, ul_err_str(e));
        ul_pool_discard_pending(s->pool, n->chain);
        s->want_sync = true;
        s->next_sync = 0;
        return;
    }
    if (txs || n->verbose) {
        ul_node_log("committed block %llu: %zu txs, round %u, release log size %llu",
                    (unsigned long long)a->height, txs, a->round,
                    (unsigned long long)ul_chain_log_size(n->chain));
    }
    ul_cons_height_reset(s);
    s->last_commit_ms = ul_cons_now(n);
    (void)ul_cons_load_set(
        n); /* a set change takes effect now: peers allowed, our index, lone check */
}

static void act_evidence(ul_node *n, const ul_bft_action *a)
{
    ul_cons *s = C(n);
    if (a->vote_type == 0) {
        ul_node_logl(UL_LOG_WARN, "validator %u proposed two blocks at height %llu round %u",
                     a->validator, (unsigned long long)a->height, a->round);
        return;
    }
    static const uint8_t nil[UL_HASH_BYTES];
    ul_held_vote *v1 =
        ul_held_vote_find(s->held, a->round, a->vote_type, a->validator, a->nil ? nil : a->value);
    ul_held_vote *v2 =
        ul_held_vote_find(s->held, a->round, a->vote_type, a->validator, a->nil2 ? nil : a->value2);
    uint8_t *tx = NULL, id[UL_HASH_BYTES];
    size_t len;
    if (!v1 || !v2 || !n->key) {
        return;
    }
    ul_err e = ul_chain_evidence_tx(n->chain, n->key, s->set.v[a->validator].pubkey, v1->vote,
                                    v1->vlen, v1->sig, v2->vote, v2->vlen, v2->sig, &tx, &len);
    if (e == UL_OK) {
        e = ul_cons_take_tx(n, tx, len, NULL, id, true);
    }
    ul_node_logl(UL_LOG_WARN,
                 "validator %u signed two different %s at height %llu round %u: evidence %s",
                 a->validator, a->vote_type == UL_VOTE_PREVOTE ? "prevotes" : "precommits",
                 (unsigned long long)a->height, a->round, e == UL_OK ? "submitted" : ul_err_str(e));
    free(tx);
}

static void add_timer(ul_cons *s, const ul_bft_action *a)
{
    if (s->n_timers == MAX_TIMERS) { /* the oldest is for a round long gone */
        memmove(s->timers, s->timers + 1, (MAX_TIMERS - 1) * sizeof *s->timers);
        s->n_timers--;
    }
    s->timers[s->n_timers++] =
        (timer){a->timeout_kind, a->height, a->round, s->io->now_ms(s->io->ctx) + a->duration_ms};
}

/* Performs the core's actions; acting may feed the core again (our own proposal), which appends
 * more: taken until none are left. Actions of a height already committed are void. */
void ul_cons_drain(ul_node *n)
{
    ul_cons *s = C(n);
    while (s->acts.n > 0) {
        ul_bft_actions now = s->acts;
        s->acts.n = 0;
        for (size_t i = 0; i < now.n; i++) {
            const ul_bft_action *a = &now.a[i];
            if (!s->started || a->height != ul_cons_next_height(n)) {
                continue;
            }
            switch (a->kind) {
            case UL_BFT_ACT_PROPOSAL:
                if (a->nil) {
                    build_proposal(n, a->round);
                } else { /* re-propose the valid value (line 16) */
                    ul_held_prop *p = ul_held_prop_find(s->held, a->value, -1);
                    if (p && may_sign(n, a->height, a->round, UL_SIGNLOG_PROPOSAL)) {
                        ul_cons_send_proposal(n, p, a->round, a->valid_round);
                    } else if (p) {
                        keep_unsigned(s, a);
                    }
                }
                break;
            case UL_BFT_ACT_VOTE:
                act_vote(n, a);
                break;
            case UL_BFT_ACT_TIMEOUT:
                add_timer(s, a);
                break;
            case UL_BFT_ACT_COMMIT:
                ul_cons_act_commit(n, a);
                break;
            case UL_BFT_ACT_EVIDENCE:
                act_evidence(n, a);
                break;
            }
        }
    }
}

/* A node without peers commits only if its own key holds more than 2/3 of the power; if not,
 * it says so once (per set) and serves queries only. One whose key holds that much and that has
 * peers makes its lock records durable (ul_signlog.lock_durable). */
static void check_alone(ul_node *n, uint64_t h)
{
    ul_cons *s = C(n);
    uint64_t total = 0, mine = 0;
    s->alone = UL_OK;
    for (size_t i = 0; i < s->set.n; i++) {
        total += s->set.v[i].power;
    }
    mine = s->self >= 0 ? s->set.v[s->self].power : 0;
    bool quorum = ul_power_quorum(mine, total); /* total <= UL_MAX_TOTAL_POWER: a valid set */
    s->sign.lock_durable = s->cfg.n_peers && quorum;
    if (s->cfg.n_peers || !n->key || quorum) {
        return;
    }
    s->alone = mine ? UL_E_QUORUM : UL_E_VALIDATOR;
    ul_node_log("cannot commit block %llu alone: this key holds %llu of the %llu voting power of "
                "the validator set that signs it (more than 2/3 needed): %s (%s); no more blocks, "
                "serving queries only",
                (unsigned long long)h, (unsigned long long)mine, (unsigned long long)total,
                ul_err_str(s->alone), ul_err_name(s->alone));
}

/* Reloads the set signing the next height, our index in it and its proposer rotation. */
ul_err ul_cons_load_set(ul_node *n)
{
    ul_cons *s = C(n);
    uint64_t h = ul_cons_next_height(n), from;
    uint8_t hash[UL_HASH_BYTES];
    ul_err e = ul_client_valset_hash(hash, ul_chain_valset(n->chain));
    if (e != UL_OK) {
        return e;
    }
    if (s->rot_height && memcmp(hash, s->set_hash, UL_HASH_BYTES) == 0 && h >= s->rot_height) {
        ul_bft_rotation_advance(&s->rot, &s->set, h - s->rot_height, NULL);
        s->rot_height = h;
        return UL_OK;
    }
    if ((e = ul_chain_valset_since(n->chain, h, &s->set, &from)) != UL_OK ||
        (e = ul_bft_rotation_init(&s->rot, &s->set)) != UL_OK) {
        return e;
    }
    /* The rotation is a function of the set and the heights it has signed: one step each. */
    ul_bft_rotation_advance(&s->rot, &s->set, h - from, NULL);
    s->rot_height = h;
    memcpy(s->set_hash, hash, UL_HASH_BYTES);
    s->self = n->key && !s->cfg.observer ? ul_cons_set_index(&s->set, ul_key_pubkey(n->key)) : -1;
    check_alone(n, h);
    if (s->peer) {
        uint8_t(*keys)[UL_PUBKEY_BYTES] = malloc(s->set.n * UL_PUBKEY_BYTES);
        if (!keys) {
            return UL_E_NOMEM;
        }
        for (size_t i = 0; i < s->set.n; i++) {
            memcpy(keys[i], s->set.v[i].pubkey, UL_PUBKEY_BYTES);
        }
        e = n->io->peer_allow(n->io->ctx, (const uint8_t(*)[UL_PUBKEY_BYTES])keys, s->set.n);
        free(keys);
    }
    return e;
}

/* Holds the block of the sign state's lock again (round, hash at height h) from the database's
 * lock record, when that record is the same lock. Returns: whether it is held. */
static bool load_lock(ul_node *n, uint64_t h, uint32_t round, const uint8_t hash[UL_HASH_BYTES])
{
    uint8_t *rec;
    ul_span block, lc;
    bool ok = ul_signlog_lock_load(n->chain, h, round, hash, &rec, &block, &lc) &&
              ul_held_prop_add(C(n)->held, round, -1, hash, block, lc) != NULL;
    free(rec);
    return ok;
}

/* Starts the core at the next height; after a restart in the middle of it, one round above the
 * last this validator signed in, locked on what it precommitted. */
static ul_err begin_height(ul_node *n)
{
    ul_cons *s = C(n);
    uint64_t h = ul_cons_next_height(n);
    const ul_sign_state *st = &s->sign.st;
    if (s->self < 0 || st->height != h) {
        return ul_bft_start(&s->bft, &s->acts, h, &s->set, &s->rot, s->self, NULL);
    }
    uint32_t round = (uint32_t)st->round + 1;
    bool locked = st->has_lock && st->lock_round < round;
    bool held = locked && load_lock(n, h, (uint32_t)st->lock_round, st->lock_hash);
    /* Without peers, a lock on a block no longer held (killed between the precommit and the
     * block's commit; the lock record is not synced) is dropped: that precommit reached no one,
     * so no commit of the block exists anywhere, and a lone validator could never propose it
     * again: it would wait at this height for ever. With peers, another validator may; one whose
     * own power is a quorum holds it, as its lock record was synced before the precommit. */
    bool dropped = locked && !held && s->cfg.n_peers == 0;
    locked = locked && !dropped;
    const char *lock_note = dropped   ? ", its lock dropped (the block is gone and no peer saw the "
                                        "precommit)"
                            : !locked ? ""
                            : held    ? ", locked on its precommitted block"
                                   : ", locked on its precommitted block (not held: not proposed)";
    ul_node_log("resuming height %llu at round %u%s (this validator signed in round %llu before "
                "it stopped)",
                (unsigned long long)h, round, lock_note, (unsigned long long)st->round);
    return ul_bft_resume(&s->bft, &s->acts, h, &s->set, &s->rot, s->self, round,
                         locked ? (int32_t)st->lock_round : -1, locked ? st->lock_hash : NULL);
}

bool ul_cons_start_height(ul_node *n)
{
    ul_cons *s = C(n);
    ul_err e = ul_cons_load_set(n);
    if (e != UL_OK) {
        ul_node_log("cannot start height %llu: %s", (unsigned long long)ul_cons_next_height(n),
                    ul_err_str(e));
        return false;
    }
    s->started = true;
    s->height_start_ms = ul_cons_now(n);
    s->next_resend = ul_cons_now(n) + RESEND_MS;
    e = begin_height(n);
    if (e != UL_OK) {
        ul_node_log("consensus core refused height %llu: %s",
                    (unsigned long long)ul_cons_next_height(n), ul_err_str(e));
        s->started = false;
        return false;
    }
    ul_cons_drain(n);
    return true;
}

/* A height starts when there is something to commit: pooled txs (after a short batching
 * pause and BLOCK_GAP_MS after the last commit, unless a full block waits), the heartbeat
 * interval when one is set, or a peer already working on it. */
bool ul_cons_height_due(ul_node *n, uint64_t now, uint64_t *due)
{
    ul_cons *s = C(n);
    /* Without a heartbeat (the default) an idle chain makes no blocks: checkpoints keep it fresh.
     */
    uint64_t at =
        s->cfg.heartbeat_ms > 0 ? s->last_commit_ms + (uint64_t)s->cfg.heartbeat_ms : UINT64_MAX;
    if (s->pool->n > 0) {
        uint64_t b = s->pool->first_pooled_ms + BATCH_WAIT_MS;
        uint64_t gap = s->last_commit_ms + (s->cfg.n_peers ? BLOCK_GAP_MS : LONE_BLOCK_GAP_MS);
        b = b < gap && s->pool->n < UL_MAX_BLOCK_TXS ? gap : b;
        at = b < at ? b : at;
    }
    if (s->n_future > 0) {
        at = now;
    }
    *due = at;
    return now >= at;
}

void ul_cons_expire_timers(ul_node *n, uint64_t now)
{
    ul_cons *s = C(n);
    for (size_t i = 0; i < s->n_timers;) {
        timer t = s->timers[i];
        if (t.due > now) {
            i++;
            continue;
        }
        s->timers[i] = s->timers[--s->n_timers];
        if (s->started && t.height == ul_cons_next_height(n) &&
            ul_bft_on_timeout(&s->bft, &s->acts, t.kind, t.height, t.round) == UL_OK) {
            ul_cons_drain(n);
        }
    }
}

/* Re-sends our proposal of the current round and every vote held for the current round and
 * for the valid round (the proof of lock a peer may have lost). */
void ul_cons_resend(ul_node *n)
{
    ul_cons *s = C(n);
    uint32_t r = ul_bft_round_now(&s->bft);
    int32_t vr = ul_bft_valid_round(&s->bft);
    ul_held_prop *p = ul_held_prop_find(s->held, NULL, r);
    if (p && s->self >= 0 && ul_bft_proposer(&s->bft, r) == (uint32_t)s->self &&
        ++s->resends % RESEND_PROPOSAL_EVERY == 0) {
        ul_cons_send_proposal(n, p, r, p->vr);
    }
    for (size_t i = 0; i < s->held->n_votes; i++) {
        if (s->held->votes[i].round == r || (vr >= 0 && s->held->votes[i].round == (uint32_t)vr)) {
            ul_cons_send_vote(n, &s->held->votes[i]);
        }
    }
}
