/* upledgerd's consensus driver: runs the pure Tendermint core (ledger/bft.c) over the peer
 * transport. It builds and checks proposals with the chain, signs and holds votes, turns a
 * decision into a commit, keeps the transaction pool, re-sends what a lossy network may have
 * dropped, and block-syncs from peers' query endpoints when it is behind (observers always). */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../ledger/ul_bft.h"
#include "node.h"

#define RESEND_MS 250      /* current-round votes go out again this often until decided */
#define RESEND_PROPOSAL_EVERY 4 /* ... and the proposal (a whole block) every 4th time */
#define STATUS_MS 1000     /* a validator tells its peers its head this often */
#define BATCH_WAIT_MS 5    /* a proposer waits this long after the first pooled tx for more */
#define SYNC_POLL_MS 250   /* an observer asks its peers for their head this often */
#define SYNC_CALL_MS 2000  /* one block-range request */
#define SYNC_PROBE_MS 500  /* one status request: a peer that is down costs the loop this long */
#define SYNC_BACKOFF_MS 2000 /* a peer that did not answer is left alone this long */
#define SYNC_BUDGET_MS 500 /* block sync yields to consensus and queries after this long */
#define MAX_TIMERS 32      /* pending core timeouts (3 kinds x a few rounds) */
#define GOSSIP_MAX_TXS 512 /* transactions per gossip envelope */
#define FLUSH_MS 2          /* queued peer messages are retried this often */
#define STALL_RETRY_MS 500  /* a store whose writes failed (a full disk) is retried this often */

/* What a validator signs, in order at one height and round (ul_sign_step). Before a signature
 * leaves, its (height, round, step) and lock are in the sign state file beside the key
 * (ledger/signstate.c), so a restarted node never signs a second, different message (no amnesia
 * equivocation), whatever happened to its database. */
enum {
    SIGN_PROPOSAL = UL_SIGN_PROPOSAL,
    SIGN_PREVOTE = UL_SIGN_PREVOTE,
    SIGN_PRECOMMIT = UL_SIGN_PRECOMMIT
};
/* Where nodes before the sign state file kept the last signature (height 8, round 4, step 1):
 * taken into the file once, then deleted. */
static const uint8_t META_LASTSIGN[] = "Mlastsign";
/* The block a validator precommitted (height 8, round 4, hash 32, block length 4, block, last
 * commit length 4, last commit), written before the precommit: a restarted validator locked on
 * it (the sign state's lock) proposes it again (ul_bft_resume). Without it, it stays locked. */
static const uint8_t META_LOCK[] = "Mlock";

typedef struct {
    uint32_t round, type, idx;
    uint8_t hash[UL_HASH_BYTES]; /* all zero: nil */
    uint64_t time_ms;
    uint8_t vote[UL_MAX_VOTE_BYTES];
    size_t vlen;
    uint8_t sig[UL_SIG_BYTES];
} held_vote;

typedef struct {
    uint32_t round;
    int32_t vr;
    uint8_t hash[UL_HASH_BYTES];
    uint8_t *block, *lc; /* block bytes; the proposer's commit of the previous height or NULL */
    size_t blen, lclen;
} held_prop;

typedef struct {
    uint8_t *tx;
    size_t len;
    uint8_t leaf[UL_HASH_BYTES];
    uint8_t id[UL_HASH_BYTES];
    uint64_t bytes_hash; /* keyed hash of tx: finds a proposal's tx here without SHA-256 */
    bool gossip;         /* still to be sent to peers */
} pooled;

typedef struct {
    uint32_t kind;
    uint64_t height;
    uint32_t round;
    uint64_t due;
} timer;

typedef struct {
    uint32_t kind;
    uint8_t from[UL_PUBKEY_BYTES];
    uint8_t *payload; /* the payload, then the attachment */
    size_t len, alen;
    bool has_attach;
} future_msg;

struct ul_cons {
    ul_node_cfg cfg;
    ul_peer *peer;
    int sync_sock[UL_MAX_PEERS];
    uint64_t sync_retry[UL_MAX_PEERS]; /* when a peer that failed may be asked again */
    ul_claims claims;     /* heads validators announce (by set index): what starts block sync */
    ul_claims rpc_claims; /* heads the peers' query endpoints answer (by peer): where it syncs */
    ul_bft bft;
    ul_bft_actions acts;
    bool started; /* the core runs height chain height + 1 */
    uint64_t last_commit_ms;
    int32_t self;
    ul_valset set; /* the set signing height chain height + 1 */
    uint8_t set_hash[UL_HASH_BYTES];
    ul_bft_rotation rot;
    uint64_t rot_height; /* height rot is for */
    held_vote *votes;
    size_t n_votes;
    held_prop props[UL_MAX_HELD_PROPOSALS];
    size_t n_props;
    timer timers[MAX_TIMERS];
    size_t n_timers;
    future_msg future[UL_MAX_FUTURE_MSGS];
    size_t n_future, future_bytes;
    pooled *pool;
    size_t n_pool;
    /* The pool's first n_in_pending txs are executed, in pool order, into the chain's open
     * pending block. Always a prefix: a tx must never execute before one pooled earlier (a
     * publisher's sequence numbers, a signer's nonces arrive in order). */
    size_t n_in_pending;
    size_t n_gossip; /* pooled txs still to be sent to peers (the loop skips the scan at 0) */
    uint32_t *index; /* open addressing over pool by leaf hash: pool position + 1, 0 free */
    uint32_t *bindex; /* the same over pool by bytes_hash */
    size_t index_cap;
    uint8_t bytes_key[crypto_shorthash_KEYBYTES]; /* random: peers cannot aim at one slot */
    uint64_t first_pooled_ms; /* when the pool last became non-empty */
    struct {
        uint8_t id[UL_HASH_BYTES];
        ul_err e;
    } rejected[UL_MAX_REJECTED_KEPT];
    size_t n_rejected, rejected_next;
    uint64_t next_resend, next_status, next_sync;
    uint32_t resends; /* of this height */
    bool want_sync;
    ul_sign_state sign;    /* the last signature (mirrors the sign state file) */
    const char *sign_path; /* that file: cfg.sign_state */
    uint64_t signed_count; /* signatures since this start (STATUS) */
    ul_err sign_fault;     /* why the last sign-state write failed; UL_OK once one succeeds */
    char sign_fault_text[sizeof(((ul_node_cfg *)0)->sign_state) + 16]; /* "writing PATH" */
    /* The file was missing while the key exists: this key may have signed up to the network's
     * head + 1, so it signs nothing until it has synced (sign_floor_known) and then only above
     * sign_floor (that head + 1). */
    bool sign_missing, sign_floor_known;
    uint64_t sign_floor;
    /* A lone node (no peers) whose key cannot make a quorum: UL_E_QUORUM (too little power) or
     * UL_E_VALIDATOR (not in the set). It makes no blocks and refuses transactions with it. */
    ul_err alone;
    /* Writes failed (a full disk): the store's fault, said once; the decided block whose commit
     * failed (kind 0: none) is committed again once ul_chain_recover succeeds. */
    ul_err stalled;
    uint64_t next_recover;
    ul_bft_action stalled_commit;
};

/* ---- small helpers -------------------------------------------------------------------------- */

static ul_cons *C(const ul_node *n) { return n->cons; }

static bool is_zero(const uint8_t *h)
{
    static const uint8_t zero[UL_HASH_BYTES];
    return memcmp(h, zero, UL_HASH_BYTES) == 0;
}

static int32_t set_index(const ul_valset *s, const uint8_t pub[UL_PUBKEY_BYTES])
{
    for (size_t i = 0; i < s->n; i++) {
        if (memcmp(s->v[i].pubkey, pub, UL_PUBKEY_BYTES) == 0) {
            return (int32_t)i;
        }
    }
    return -1;
}

static uint64_t next_height(const ul_node *n) { return ul_chain_height(n->chain) + 1; }

/* ---- the transaction pool ------------------------------------------------------------------- */

static size_t slot_of(const ul_cons *s, const uint8_t leaf[UL_HASH_BYTES])
{
    uint64_t h;
    memcpy(&h, leaf, sizeof h); /* leaf hashes are uniform; a peer cannot choose them */
    return (size_t)h & (s->index_cap - 1);
}

static pooled *pool_find(ul_cons *s, const uint8_t leaf[UL_HASH_BYTES])
{
    for (size_t i = slot_of(s, leaf), k = 0; k < s->index_cap; i = (i + 1) & (s->index_cap - 1), k++) {
        if (s->index[i] == 0) {
            return NULL;
        }
        pooled *p = &s->pool[s->index[i] - 1];
        if (memcmp(p->leaf, leaf, UL_HASH_BYTES) == 0) {
            return p;
        }
    }
    return NULL;
}

static uint64_t bytes_hash(const ul_cons *s, const uint8_t *tx, size_t len)
{
    uint8_t h[crypto_shorthash_BYTES];
    uint64_t v;
    crypto_shorthash(h, tx, len, s->bytes_key);
    memcpy(&v, h, sizeof v);
    return v;
}

/* A pooled tx with exactly these bytes, found by a keyed short hash (SipHash) and compared in
 * full: what a received proposal's txs are matched with, so the pool's hashes are reused. */
static pooled *pool_find_bytes(ul_cons *s, const uint8_t *tx, size_t len)
{
    uint64_t bh = bytes_hash(s, tx, len);
    for (size_t i = (size_t)bh & (s->index_cap - 1), k = 0; k < s->index_cap;
         i = (i + 1) & (s->index_cap - 1), k++) {
        if (s->bindex[i] == 0) {
            return NULL;
        }
        pooled *p = &s->pool[s->bindex[i] - 1];
        if (p->bytes_hash == bh && p->len == len && memcmp(p->tx, tx, len) == 0) {
            return p;
        }
    }
    return NULL;
}

static void index_put(ul_cons *s, size_t pos)
{
    size_t i = slot_of(s, s->pool[pos].leaf);
    while (s->index[i] != 0) {
        i = (i + 1) & (s->index_cap - 1);
    }
    s->index[i] = (uint32_t)pos + 1;
    i = (size_t)s->pool[pos].bytes_hash & (s->index_cap - 1);
    while (s->bindex[i] != 0) {
        i = (i + 1) & (s->index_cap - 1);
    }
    s->bindex[i] = (uint32_t)pos + 1;
}

/* For ul_chain_prepare_known: the pool holds only txs ul_chain_check_tx passed, with the hashes
 * it gave; a match is byte for byte. */
static bool pool_known(void *ctx, const uint8_t *tx, size_t len, ul_txhash *h)
{
    pooled *p = pool_find_bytes(ctx, tx, len);
    if (p) {
        memcpy(h->leaf, p->leaf, UL_HASH_BYTES);
        memcpy(h->id, p->id, UL_HASH_BYTES);
    }
    return p != NULL;
}

static ul_txhash hashes_of(const pooled *p)
{
    ul_txhash h;
    memcpy(h.leaf, p->leaf, UL_HASH_BYTES);
    memcpy(h.id, p->id, UL_HASH_BYTES);
    return h;
}

static void remember_rejected(ul_cons *s, const uint8_t id[UL_HASH_BYTES], ul_err e)
{
    memcpy(s->rejected[s->rejected_next].id, id, UL_HASH_BYTES);
    s->rejected[s->rejected_next].e = e;
    s->rejected_next = (s->rejected_next + 1) % UL_MAX_REJECTED_KEPT;
    s->n_rejected += s->n_rejected < UL_MAX_REJECTED_KEPT;
}

/* Drops marked entries (tx == NULL) and rebuilds the index. */
static void pool_compact(ul_cons *s)
{
    size_t m = 0;
    for (size_t i = 0; i < s->n_pool; i++) {
        if (s->pool[i].tx) {
            s->pool[m++] = s->pool[i];
        }
    }
    s->n_pool = m;
    memset(s->index, 0, s->index_cap * sizeof *s->index);
    memset(s->bindex, 0, s->index_cap * sizeof *s->bindex);
    for (size_t i = 0; i < m; i++) {
        index_put(s, i);
    }
    if (m == 0) {
        s->first_pooled_ms = 0;
    }
}

static void pool_drop(ul_cons *s, pooled *p)
{
    s->n_gossip -= p->gossip;
    free(p->tx);
    p->tx = NULL;
}

/* Adds a checked tx. Returns UL_E_BUSY when the pool is full. */
static ul_err pool_add(ul_cons *s, const uint8_t *tx, size_t len, const uint8_t leaf[UL_HASH_BYTES],
                       const uint8_t id[UL_HASH_BYTES], bool gossip)
{
    if (s->n_pool >= UL_MAX_MEMPOOL) {
        return UL_E_BUSY;
    }
    pooled *p = &s->pool[s->n_pool];
    if (!(p->tx = malloc(len))) {
        return UL_E_NOMEM;
    }
    memcpy(p->tx, tx, len);
    p->len = len;
    memcpy(p->leaf, leaf, UL_HASH_BYTES);
    memcpy(p->id, id, UL_HASH_BYTES);
    p->bytes_hash = bytes_hash(s, tx, len);
    p->gossip = gossip;
    s->n_gossip += gossip;
    index_put(s, s->n_pool++);
    if (s->first_pooled_ms == 0) {
        s->first_pooled_ms = ul_node_now_ms();
    }
    return UL_OK;
}

static void pool_unmark_pending(ul_cons *s)
{
    s->n_in_pending = 0;
}

/* Whether the pending block is open to new transactions (not sealed, not a peer's proposal). */
static bool pending_open(ul_node *n)
{
    return !ul_chain_sealed(n->chain, NULL);
}

/* Checks a tx and pools it. A client's tx is executed into the open pending block when every
 * tx pooled before it is there too (so the client hears of a contract refusal at once); any
 * other is checked for its signatures only, and in full when a block takes it. */
static ul_err take_tx(ul_node *n, const uint8_t *tx, size_t len, const uint8_t *given_leaf,
                      uint8_t id[UL_HASH_BYTES], bool from_client)
{
    ul_cons *s = C(n);
    ul_txhash h;
    pooled *dup;
    if (given_leaf && (dup = pool_find(s, given_leaf)) != NULL) {
        memcpy(id, dup->id, UL_HASH_BYTES); /* pooled already: nothing to check again */
        return UL_OK;
    }
    /* Signatures are cached when seen before; a leaf hash the caller computed is not redone. */
    ul_err e = given_leaf ? ul_chain_check_tx_leaf(n->chain, tx, len, given_leaf, id)
                          : ul_chain_check_tx(n->chain, tx, len, id, h.leaf);
    if (given_leaf) {
        memcpy(h.leaf, given_leaf, UL_HASH_BYTES);
    }
    if (e != UL_OK || (!given_leaf && pool_find(s, h.leaf))) {
        return e; /* a copy of a pooled tx gets its id: a client's retry is harmless */
    }
    memcpy(h.id, id, UL_HASH_BYTES);
    if (s->n_pool >= UL_MAX_MEMPOOL) {
        return UL_E_BUSY;
    }
    bool execute = from_client && pending_open(n) && s->n_in_pending == s->n_pool &&
                   ul_chain_pending_count(n->chain) < UL_MAX_BLOCK_TXS;
    if (execute && (e = ul_chain_submit_known(n->chain, tx, len, &h, id)) != UL_OK) {
        return e;
    }
    if ((e = pool_add(s, tx, len, h.leaf, id, from_client)) != UL_OK) {
        if (execute) {
            ul_chain_discard(n->chain); /* the pending block holds a tx the pool lost */
            pool_unmark_pending(s);
        }
        return e;
    }
    s->n_in_pending += execute;
    return UL_OK;
}

/* Removes a block's txs from the pool (committed here or by block sync). */
static void pool_remove_block(ul_cons *s, const uint8_t *block, size_t blen)
{
    ul_block b;
    if (s->n_pool == 0) {
        return;
    }
    ul_span *txs = malloc(UL_MAX_BLOCK_TXS * sizeof *txs);
    if (txs && ul_schema_block_split(&b, txs, UL_MAX_BLOCK_TXS, block, blen) == UL_OK) {
        for (size_t i = 0; i < b.n_txs; i++) {
            pooled *p = pool_find_bytes(s, txs[i].ptr, txs[i].len);
            if (p) {
                pool_drop(s, p);
            }
        }
    }
    free(txs);
    pool_unmark_pending(s);
    pool_compact(s);
}

/* ---- signing -------------------------------------------------------------------------------- */

/* A node whose data directory predates the sign state file: its last signature, and the lock
 * of that height, from the chain database into the file; then the old record goes. */
static ul_err sign_migrate(ul_node *n, const uint8_t v[13])
{
    ul_cons *s = C(n);
    uint8_t *lock = NULL;
    size_t len;
    s->sign.height = ul_be64_get(v);
    s->sign.round = ul_be32_get(v + 8);
    s->sign.step = v[12];
    if (ul_store_get(ul_chain_store(n->chain), META_LOCK, sizeof META_LOCK - 1, &lock, &len) ==
            UL_OK &&
        len >= 8 + 4 + UL_HASH_BYTES && ul_be64_get(lock) == s->sign.height) {
        s->sign.has_lock = s->sign.has_lock_hash = true;
        s->sign.lock_round = ul_be32_get(lock + 8);
        memcpy(s->sign.lock_hash, lock + 12, UL_HASH_BYTES);
    }
    free(lock);
    ul_err e = ul_signstate_save(s->sign_path, &s->sign);
    ul_batch *b = e == UL_OK ? ul_batch_create() : NULL;
    if (e == UL_OK && b) {
        ul_batch_delete(b, META_LASTSIGN, sizeof META_LASTSIGN - 1);
        e = ul_store_write(ul_chain_store(n->chain), b, true);
    }
    ul_batch_destroy(b);
    if (e == UL_OK) {
        ul_node_log("sign state: moved from the chain database into %s (height %llu)",
                    s->sign_path, (unsigned long long)s->sign.height);
    }
    return e;
}

/* Loads the sign state: the file, or the old record once, or (neither) refusal to sign until
 * synced. A damaged or foreign file stops the node: only its operator can judge it. */
static ul_err sign_open(ul_node *n)
{
    ul_cons *s = C(n);
    uint8_t v[8 + 4 + 1];
    if (!n->key || s->cfg.observer) {
        return UL_OK;
    }
    s->sign_path = s->cfg.sign_state;
    ul_err e = ul_signstate_load(&s->sign, s->sign_path, ul_key_pubkey(n->key));
    if (e != UL_E_NOT_FOUND) {
        if (e != UL_OK) {
            ul_node_log("sign state %s: %s (%s); not starting: restore it, or run upledgerd "
                        "--reset-sign-state once this key cannot have signed above the chain's "
                        "head",
                        s->sign_path,
                        e == UL_E_SIGN_STATE ? "corrupt, or another key's" : ul_err_str(e),
                        ul_err_name(e));
        }
        return e;
    }
    memset(&s->sign, 0, sizeof s->sign);
    memcpy(s->sign.pubkey, ul_key_pubkey(n->key), UL_PUBKEY_BYTES);
    if (ul_store_get_fixed(ul_chain_store(n->chain), META_LASTSIGN, sizeof META_LASTSIGN - 1, v,
                           sizeof v) == UL_OK) {
        return sign_migrate(n, v);
    }
    s->sign_missing = true;
    ul_node_log("sign state %s is missing while the key exists: not signing (%s) until this node "
                "has synced past the network's head%s",
                s->sign_path, ul_err_name(UL_E_SIGN_STATE),
                s->cfg.n_peers ? "" : " (a node without peers never does: restore the file, or "
                                      "run upledgerd --reset-sign-state)");
    return UL_OK;
}

/* Whether a node that lost its sign state may sign at height now. */
static bool sign_floor_passed(ul_node *n, uint64_t height)
{
    ul_cons *s = C(n);
    if (!s->sign_missing) {
        return true;
    }
    if (!s->sign_floor_known || height <= s->sign_floor) {
        return false;
    }
    s->sign_missing = false;
    ul_node_log("sign state: synced past height %llu; signing again from height %llu",
                (unsigned long long)s->sign_floor, (unsigned long long)height);
    return true;
}

/* Allows and records a signature at (height, round, step) after the last one: the sign state
 * file is durable before this returns true. lock_hash (NULL: none) is the block a precommit is
 * for; lock (may be NULL) its record for re-proposing, written to the database first. */
static bool may_sign_lock(ul_node *n, uint64_t height, uint32_t round, uint32_t step,
                          const uint8_t *lock_hash, const uint8_t *lock, size_t lock_len)
{
    ul_cons *s = C(n);
    if (!ul_signstate_after(&s->sign, height, round, step) || !sign_floor_passed(n, height)) {
        return false;
    }
    /* A store that met damage may have handed consensus data with entries missing: no vote on
     * it (the node stops at the end of this turn). */
    if (ul_store_fault(ul_chain_store(n->chain), NULL) == UL_E_CORRUPT) {
        return false;
    }
    ul_err e = UL_OK;
    ul_batch *b = lock ? ul_batch_create() : NULL;
    if (lock && !b) {
        e = UL_E_NOMEM;
    } else if (lock) { /* not synced: losing it costs re-proposing, never safety */
        ul_batch_put(b, META_LOCK, sizeof META_LOCK - 1, lock, lock_len);
        e = ul_store_write(ul_chain_store(n->chain), b, false);
    }
    ul_batch_destroy(b);
    if (e == UL_OK) {
        e = ul_signstate_advance(&s->sign, s->sign_path, height, round, step, lock_hash);
    }
    if (e != UL_OK) {
        if (e != s->sign_fault) { /* once per cause, not once per round */
            ul_node_log("cannot record a signature at height %llu in %s: %s (%s); not signing",
                        (unsigned long long)height, s->sign_path, ul_err_str(e), ul_err_name(e));
        }
        s->sign_fault = e;
        snprintf(s->sign_fault_text, sizeof s->sign_fault_text, "writing %s", s->sign_path);
        return false;
    }
    if (s->sign_fault != UL_OK) {
        ul_node_log("sign state %s written again: signing", s->sign_path);
        s->sign_fault = UL_OK;
    }
    s->signed_count++;
    return true;
}

static bool may_sign(ul_node *n, uint64_t height, uint32_t round, uint32_t step)
{
    return may_sign_lock(n, height, round, step, NULL, NULL, 0);
}

/* ---- held votes and proposals --------------------------------------------------------------- */

static held_vote *vote_find(ul_cons *s, uint32_t round, uint32_t type, uint32_t idx,
                            const uint8_t hash[UL_HASH_BYTES])
{
    for (size_t i = 0; i < s->n_votes; i++) {
        held_vote *v = &s->votes[i];
        if (v->round == round && v->type == type && v->idx == idx &&
            (!hash || memcmp(v->hash, hash, UL_HASH_BYTES) == 0)) {
            return v;
        }
    }
    return NULL;
}

static held_vote *vote_hold(ul_cons *s, const ul_vote *v, uint32_t idx, const uint8_t *bytes,
                            size_t len, const uint8_t sig[UL_SIG_BYTES])
{
    if (s->n_votes >= UL_MAX_HELD_VOTES || len > UL_MAX_VOTE_BYTES) {
        return NULL;
    }
    held_vote *h = &s->votes[s->n_votes++];
    h->round = (uint32_t)v->round;
    h->type = (uint32_t)v->type;
    h->idx = idx;
    memcpy(h->hash, v->block_hash, UL_HASH_BYTES);
    h->time_ms = v->time_ms;
    memcpy(h->vote, bytes, len);
    h->vlen = len;
    memcpy(h->sig, sig, UL_SIG_BYTES);
    return h;
}

static held_prop *prop_find(ul_cons *s, const uint8_t hash[UL_HASH_BYTES], int64_t round)
{
    for (size_t i = 0; i < s->n_props; i++) {
        if ((!hash || memcmp(s->props[i].hash, hash, UL_HASH_BYTES) == 0) &&
            (round < 0 || s->props[i].round == (uint32_t)round)) {
            return &s->props[i];
        }
    }
    return NULL;
}

static void prop_free(held_prop *p)
{
    free(p->block);
    free(p->lc);
    memset(p, 0, sizeof *p);
}

/* Keeps a proposal (copies). The oldest round goes when all slots are taken. */
static held_prop *prop_hold(ul_cons *s, uint32_t round, int32_t vr,
                            const uint8_t hash[UL_HASH_BYTES], ul_span block, ul_span lc)
{
    if (s->n_props == UL_MAX_HELD_PROPOSALS) {
        size_t old = 0;
        for (size_t i = 1; i < s->n_props; i++) {
            old = s->props[i].round < s->props[old].round ? i : old;
        }
        prop_free(&s->props[old]);
        s->props[old] = s->props[--s->n_props];
    }
    held_prop *p = &s->props[s->n_props];
    memset(p, 0, sizeof *p);
    p->block = malloc(block.len);
    p->lc = lc.len ? malloc(lc.len) : NULL;
    if (!p->block || (lc.len && !p->lc)) {
        prop_free(p);
        return NULL;
    }
    memcpy(p->block, block.ptr, block.len);
    p->blen = block.len;
    if (lc.len) {
        memcpy(p->lc, lc.ptr, lc.len);
    }
    p->lclen = lc.len;
    p->round = round;
    p->vr = vr;
    memcpy(p->hash, hash, UL_HASH_BYTES);
    s->n_props++;
    return p;
}

/* Lets go of a proposal held by mistake (its txs were not those its signed header names). */
static void prop_unhold(ul_cons *s, held_prop *p)
{
    prop_free(p);
    *p = s->props[--s->n_props];
}

static void height_reset(ul_cons *s)
{
    for (size_t i = 0; i < s->n_props; i++) {
        prop_free(&s->props[i]);
    }
    s->n_props = 0;
    s->n_votes = 0;
    s->n_timers = 0;
    s->resends = 0;
    s->started = false;
}

/* ---- sending -------------------------------------------------------------------------------- */

/* Sends m, and attach (NULL: none) outside the signature: m must bind it by hash. */
static void send_msg(ul_node *n, uint32_t kind, const ul_msg *m, const ul_span *attach)
{
    ul_cons *s = C(n);
    size_t cap = ul_msg_encoded_max(m), len;
    uint8_t *buf = malloc(cap);
    if (!s->peer || !buf) {
        free(buf);
        return;
    }
    ul_err e = ul_msg_encode(buf, cap, &len, m);
    if (e == UL_OK) {
        e = attach ? ul_peer_send(s->peer, kind, buf, len, attach->ptr, attach->len)
                   : ul_peer_broadcast(s->peer, kind, buf, len);
    }
    if (e != UL_OK) {
        ul_node_log("peer message (kind %u) not sent: %s", kind, ul_err_str(e));
    }
    free(buf);
}

static void broadcast_msg(ul_node *n, uint32_t kind, const ul_msg *m)
{
    send_msg(n, kind, m, NULL);
}

static void send_vote(ul_node *n, const held_vote *v)
{
    ul_msg m;
    ul_msg_init(&m);
    ul_msg_bytes(&m, 1, C(n)->set.v[v->idx].pubkey, UL_PUBKEY_BYTES);
    ul_msg_bytes(&m, 2, v->vote, v->vlen);
    ul_msg_bytes(&m, 3, v->sig, UL_SIG_BYTES);
    broadcast_msg(n, UL_PEER_VOTE, &m);
}

/* The signature covers the header (which names the txs by their tx root), not the block: a
 * receiver hashes the txs once, for that root, instead of once more for the signature. */
static void send_proposal(ul_node *n, const held_prop *p, uint32_t round, int32_t vr)
{
    ul_msg m;
    ul_span header, block = {p->block, p->blen};
    if (ul_schema_block_header(&header, p->block, p->blen) != UL_OK) {
        return; /* held blocks are this node's own or checked ones: not reached */
    }
    ul_msg_init(&m);
    ul_msg_uint(&m, 1, next_height(n));
    ul_msg_uint(&m, 2, round);
    if (vr >= 0) {
        ul_msg_uint(&m, 3, (uint64_t)vr);
    }
    ul_msg_bytes(&m, 4, header.ptr, header.len);
    if (p->lclen) {
        ul_msg_bytes(&m, 5, p->lc, p->lclen);
    }
    send_msg(n, UL_PEER_PROPOSAL, &m, &block);
}

static void send_status(ul_node *n)
{
    ul_msg m;
    ul_msg_init(&m);
    ul_msg_uint(&m, 1, ul_chain_height(n->chain));
    broadcast_msg(n, UL_PEER_STATUS, &m);
}

/* ---- driving the core ----------------------------------------------------------------------- */

static void drain(ul_node *n);

static void feed_proposal(ul_node *n, uint32_t from, uint32_t round,
                          const uint8_t hash[UL_HASH_BYTES], int32_t vr, bool valid)
{
    ul_cons *s = C(n);
    ul_err e = ul_bft_on_proposal(&s->bft, &s->acts, from, next_height(n), round, hash, vr, valid);
    if (e == UL_OK) {
        drain(n);
    }
}

/* Makes the pending block the block of held proposal p (its last commit first). */
static ul_err prepare_prop(ul_node *n, const held_prop *p)
{
    uint8_t h[UL_HASH_BYTES];
    ul_err e;
    if (ul_chain_sealed(n->chain, h) && memcmp(h, p->hash, UL_HASH_BYTES) == 0) {
        return UL_OK;
    }
    ul_chain_discard(n->chain);
    pool_unmark_pending(C(n));
    if (p->lclen && (e = ul_chain_replace_commit(n->chain, p->lc, p->lclen)) != UL_OK) {
        return e;
    }
    if ((e = ul_chain_prepare_known(n->chain, p->block, p->blen, pool_known, C(n), h)) != UL_OK) {
        return e;
    }
    return memcmp(h, p->hash, UL_HASH_BYTES) == 0 ? UL_OK : UL_E_ROOT_MISMATCH;
}

/* getValue(): executes pooled txs into the pending block, seals it and proposes it. */
static void build_proposal(ul_node *n, uint32_t round)
{
    ul_cons *s = C(n);
    uint64_t h = next_height(n);
    uint8_t hash[UL_HASH_BYTES], *blk = NULL, *lc = NULL;
    size_t blen = 0, lclen = 0;
    if (!pending_open(n)) {
        ul_chain_discard(n->chain);
        pool_unmark_pending(s);
    }
    /* In pool order after the executed prefix: each either joins the block or is refused. */
    size_t executed = s->n_in_pending;
    for (size_t i = s->n_in_pending;
         i < s->n_pool && ul_chain_pending_count(n->chain) < UL_MAX_BLOCK_TXS; i++) {
        pooled *p = &s->pool[i];
        uint8_t id[UL_HASH_BYTES];
        ul_txhash known = hashes_of(p);
        ul_err e = ul_chain_submit_known(n->chain, p->tx, p->len, &known, id);
        if (e == UL_OK) {
            executed++;
        } else if (e == UL_E_BUSY || e == UL_E_NOMEM || e == UL_E_NO_SPACE || e == UL_E_STORE ||
                   e == UL_E_CORRUPT) {
            break; /* the node's trouble, not the tx's: it stays pooled */
        } else { /* a conflict with what was committed or pooled earlier */
            remember_rejected(s, p->id, e);
            pool_drop(s, p);
        }
    }
    pool_compact(s);
    s->n_in_pending = executed;
    ul_err e = ul_chain_seal(n->chain, ul_key_pubkey(n->key), ul_chain_next_time(n->chain), NULL,
                             hash);
    if (e == UL_OK) {
        e = ul_chain_pending_block(n->chain, &blk, &blen);
    }
    if (e == UL_OK && ul_chain_height(n->chain) > 0) {
        e = ul_chain_commit_bytes(n->chain, ul_chain_height(n->chain), &lc, &lclen);
    }
    held_prop *p = NULL;
    if (e == UL_OK && !(p = prop_hold(s, round, -1, hash, (ul_span){blk, blen},
                                      (ul_span){lc, lclen}))) {
        e = UL_E_NOMEM;
    }
    free(blk);
    free(lc);
    if (e != UL_OK) {
        ul_node_log("cannot build block %llu: %s (%s)", (unsigned long long)h, ul_err_str(e),
                    ul_err_name(e));
        ul_chain_discard(n->chain);
        pool_unmark_pending(s);
        return;
    }
    if (!may_sign(n, h, round, SIGN_PROPOSAL)) {
        return;
    }
    send_proposal(n, p, round, -1);
    feed_proposal(n, (uint32_t)s->self, round, hash, -1, true);
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
    uint64_t now = ul_node_now_ms(), floor = ul_chain_next_time(n->chain) + 1;
    v.time_ms = now > floor ? now : floor;
    uint8_t *lock = NULL;
    size_t lock_len = 0;
    held_prop *p = a->vote_type == UL_VOTE_PRECOMMIT && !a->nil ? prop_find(s, a->value, -1)
                                                               : NULL;
    if (p && (lock = malloc(8 + 4 + UL_HASH_BYTES + 4 + p->blen + 4 + p->lclen))) {
        uint8_t *w = lock;
        ul_be64_put(w, a->height), w += 8;
        ul_be32_put(w, a->round), w += 4;
        memcpy(w, a->value, UL_HASH_BYTES), w += UL_HASH_BYTES;
        ul_be32_put(w, (uint32_t)p->blen), w += 4;
        memcpy(w, p->block, p->blen), w += p->blen;
        ul_be32_put(w, (uint32_t)p->lclen), w += 4;
        if (p->lclen) { /* none at height 1 */
            memcpy(w, p->lc, p->lclen), w += p->lclen;
        }
        lock_len = (size_t)(w - lock);
    }
    bool ok = ul_schema_vote_encode(bytes, sizeof bytes, &len, &v) == UL_OK &&
              (!p || lock) && /* a precommit is signed only once its lock is recorded */
              may_sign_lock(n, a->height, a->round,
                            a->vote_type == UL_VOTE_PREVOTE ? SIGN_PREVOTE : SIGN_PRECOMMIT,
                            a->vote_type == UL_VOTE_PRECOMMIT && !a->nil ? a->value : NULL,
                            lock, lock_len) &&
              ul_key_sign(n->key, sig, UL_DOMAIN_VOTE, ul_chain_id(n->chain), bytes, len) == UL_OK;
    free(lock);
    if (!ok) {
        return;
    }
    held_vote *h = vote_hold(s, &v, (uint32_t)s->self, bytes, len, sig);
    if (h) {
        send_vote(n, h);
    }
}

static void start_height(ul_node *n);
static ul_err load_set(ul_node *n);

/* The core decided: assemble the commit from the held precommits and commit the block. */
static void act_commit(ul_node *n, const ul_bft_action *a)
{
    ul_cons *s = C(n);
    ul_commit cm = {.height = a->height, .round = a->round};
    memcpy(cm.block_hash, a->value, UL_HASH_BYTES);
    for (uint32_t i = 0; i < s->set.n; i++) {
        held_vote *v;
        if (!(a->signers >> i & 1) ||
            !(v = vote_find(s, a->round, UL_VOTE_PRECOMMIT, i, a->value))) {
            continue;
        }
        cm.sigs[cm.n_sigs].index = i;
        cm.sigs[cm.n_sigs].time_ms = v->time_ms;
        memcpy(cm.sigs[cm.n_sigs++].sig, v->sig, UL_SIG_BYTES);
    }
    uint8_t buf[UL_MAX_COMMIT_BYTES];
    size_t len, txs = 0;
    held_prop *p = prop_find(s, a->value, -1);
    ul_err e = ul_schema_commit_encode(buf, sizeof buf, &len, &cm);
    if (e == UL_OK) {
        e = p ? prepare_prop(n, p) : UL_E_NOT_FOUND;
    }
    if (e == UL_OK) {
        txs = ul_chain_pending_count(n->chain);
        e = ul_chain_commit(n->chain, buf, len);
    }
    ul_err fault = ul_store_fault(ul_chain_store(n->chain), NULL);
    if (e != UL_OK && (fault == UL_E_NO_SPACE || fault == UL_E_STORE)) {
        /* This disk failed (the commit's write, or a vote it could not record): keep the block
         * and the pool until the store takes writes again (stall_step), rather than lose the
         * txs to a sync that cannot write either. */
        s->stalled_commit = *a;
        pool_unmark_pending(s);
        return;
    }
    if (e == UL_OK) {
        pool_remove_block(s, p->block, p->blen); /* only now: a failed commit keeps its txs */
    }
    if (e != UL_OK) {
        /* Decided without the block (or it does not execute here): the peers that committed it
         * serve it; block sync fetches and verifies it. */
        ul_node_log("block %llu decided in round %u but not committed here: %s; syncing",
                    (unsigned long long)a->height, a->round, ul_err_str(e));
        ul_chain_discard(n->chain);
        pool_unmark_pending(s);
        s->want_sync = true;
        s->next_sync = 0;
        return;
    }
    if (txs || n->verbose) {
        ul_node_log("committed block %llu: %zu txs, round %u, release log size %llu",
                    (unsigned long long)a->height, txs, a->round,
                    (unsigned long long)ul_chain_log_size(n->chain));
    }
    height_reset(s);
    s->last_commit_ms = ul_node_now_ms();
    (void)load_set(n); /* a set change takes effect now: peers allowed, our index, lone check */
}

static void act_evidence(ul_node *n, const ul_bft_action *a)
{
    ul_cons *s = C(n);
    if (a->vote_type == 0) {
        ul_node_log("validator %u proposed two blocks at height %llu round %u", a->validator,
                    (unsigned long long)a->height, a->round);
        return;
    }
    static const uint8_t nil[UL_HASH_BYTES];
    held_vote *v1 = vote_find(s, a->round, a->vote_type, a->validator, a->nil ? nil : a->value);
    held_vote *v2 = vote_find(s, a->round, a->vote_type, a->validator, a->nil2 ? nil : a->value2);
    uint8_t *tx = NULL, id[UL_HASH_BYTES];
    size_t len;
    if (!v1 || !v2 || !n->key) {
        return;
    }
    ul_err e = ul_chain_evidence_tx(n->chain, n->key, s->set.v[a->validator].pubkey, v1->vote,
                                    v1->vlen, v1->sig, v2->vote, v2->vlen, v2->sig, &tx, &len);
    if (e == UL_OK) {
        e = take_tx(n, tx, len, NULL, id, true);
    }
    ul_node_log("validator %u signed two different %s at height %llu round %u: evidence %s",
                a->validator, a->vote_type == UL_VOTE_PREVOTE ? "prevotes" : "precommits",
                (unsigned long long)a->height, a->round,
                e == UL_OK ? "submitted" : ul_err_str(e));
    free(tx);
}

static void add_timer(ul_cons *s, const ul_bft_action *a)
{
    if (s->n_timers == MAX_TIMERS) { /* the oldest is for a round long gone */
        memmove(s->timers, s->timers + 1, (MAX_TIMERS - 1) * sizeof *s->timers);
        s->n_timers--;
    }
    s->timers[s->n_timers++] = (timer){a->timeout_kind, a->height, a->round,
                                       ul_node_now_ms() + a->duration_ms};
}

/* Performs the core's actions; acting may feed the core again (our own proposal), which appends
 * more: taken until none are left. Actions of a height already committed are void. */
static void drain(ul_node *n)
{
    ul_cons *s = C(n);
    while (s->acts.n > 0) {
        ul_bft_actions now = s->acts;
        s->acts.n = 0;
        for (size_t i = 0; i < now.n; i++) {
            const ul_bft_action *a = &now.a[i];
            if (!s->started || a->height != next_height(n)) {
                continue;
            }
            switch (a->kind) {
            case UL_BFT_ACT_PROPOSAL:
                if (a->nil) {
                    build_proposal(n, a->round);
                } else { /* re-propose the valid value (line 16) */
                    held_prop *p = prop_find(s, a->value, -1);
                    if (p && may_sign(n, a->height, a->round, SIGN_PROPOSAL)) {
                        send_proposal(n, p, a->round, a->valid_round);
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
                act_commit(n, a);
                break;
            case UL_BFT_ACT_EVIDENCE:
                act_evidence(n, a);
                break;
            }
        }
    }
}

/* ---- heights -------------------------------------------------------------------------------- */

/* A node without peers commits only if its own key holds more than 2/3 of the power; if not,
 * it says so once (per set) and serves queries only. */
static void check_alone(ul_node *n, uint64_t h)
{
    ul_cons *s = C(n);
    uint64_t total = 0, mine = 0;
    s->alone = UL_OK;
    if (s->cfg.n_peers || !n->key) {
        return;
    }
    for (size_t i = 0; i < s->set.n; i++) {
        total += s->set.v[i].power;
    }
    mine = s->self >= 0 ? s->set.v[s->self].power : 0;
    if (ul_power_quorum(mine, total)) { /* total <= UL_MAX_TOTAL_POWER: a valid set */
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
static ul_err load_set(ul_node *n)
{
    ul_cons *s = C(n);
    uint64_t h = next_height(n), from;
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
    s->self = n->key && !s->cfg.observer ? set_index(&s->set, ul_key_pubkey(n->key)) : -1;
    check_alone(n, h);
    if (s->peer) {
        uint8_t(*keys)[UL_PUBKEY_BYTES] = malloc(s->set.n * UL_PUBKEY_BYTES);
        if (!keys) {
            return UL_E_NOMEM;
        }
        for (size_t i = 0; i < s->set.n; i++) {
            memcpy(keys[i], s->set.v[i].pubkey, UL_PUBKEY_BYTES);
        }
        e = ul_peer_allow(s->peer, (const uint8_t(*)[UL_PUBKEY_BYTES])keys, s->set.n);
        free(keys);
    }
    return e;
}

static void handle_payload(ul_node *n, uint32_t kind, const uint8_t from[UL_PUBKEY_BYTES],
                           const uint8_t *p, size_t len, const ul_span *attach);

/* Holds the block of the sign state's lock again (round, hash at height h) from the database's
 * lock record, when that record is the same lock. Returns: whether it is held. */
static bool load_lock(ul_node *n, uint64_t h, uint32_t round, const uint8_t hash[UL_HASH_BYTES])
{
    uint8_t *v = NULL;
    size_t len, blen, lclen;
    bool ok = ul_store_get(ul_chain_store(n->chain), META_LOCK, sizeof META_LOCK - 1, &v,
                           &len) == UL_OK &&
              len >= 8 + 4 + UL_HASH_BYTES + 4 + 4 && ul_be64_get(v) == h &&
              ul_be32_get(v + 8) == round && memcmp(v + 12, hash, UL_HASH_BYTES) == 0;
    if (ok) {
        blen = ul_be32_get(v + 8 + 4 + UL_HASH_BYTES);
        ok = blen <= len - (8 + 4 + UL_HASH_BYTES + 4 + 4);
    }
    if (ok) {
        const uint8_t *b = v + 8 + 4 + UL_HASH_BYTES + 4;
        lclen = ul_be32_get(b + blen);
        ok = lclen == len - (8 + 4 + UL_HASH_BYTES + 4 + blen + 4) &&
             prop_hold(C(n), round, -1, hash, (ul_span){b, blen},
                       (ul_span){b + blen + 4, lclen}) != NULL;
    }
    free(v);
    return ok;
}

/* Starts the core at the next height; after a restart in the middle of it, one round above the
 * last this validator signed in, locked on what it precommitted. */
static ul_err begin_height(ul_node *n)
{
    ul_cons *s = C(n);
    uint64_t h = next_height(n);
    const ul_sign_state *st = &s->sign;
    if (s->self < 0 || st->height != h) {
        return ul_bft_start(&s->bft, &s->acts, h, &s->set, &s->rot, s->self, NULL);
    }
    uint32_t round = (uint32_t)st->round + 1;
    bool locked = st->has_lock && st->lock_round < round;
    bool held = locked && load_lock(n, h, (uint32_t)st->lock_round, st->lock_hash);
    const char *lock_note = !locked ? ""
                            : held  ? ", locked on its precommitted block"
                                    : ", locked on its precommitted block (not held: not proposed)";
    ul_node_log("resuming height %llu at round %u%s (this validator signed in round %llu before "
                "it stopped)",
                (unsigned long long)h, round, lock_note, (unsigned long long)st->round);
    return ul_bft_resume(&s->bft, &s->acts, h, &s->set, &s->rot, s->self, round,
                         locked ? (int32_t)st->lock_round : -1, locked ? st->lock_hash : NULL);
}

static void start_height(ul_node *n)
{
    ul_cons *s = C(n);
    ul_err e = load_set(n);
    if (e != UL_OK) {
        ul_node_log("cannot start height %llu: %s", (unsigned long long)next_height(n),
                    ul_err_str(e));
        return;
    }
    s->started = true;
    s->next_resend = ul_node_now_ms() + RESEND_MS;
    e = begin_height(n);
    if (e != UL_OK) {
        ul_node_log("consensus core refused height %llu: %s", (unsigned long long)next_height(n),
                    ul_err_str(e));
        s->started = false;
        return;
    }
    drain(n);
    /* Replay what faster peers sent for this height before we were in it. */
    size_t nf = s->n_future;
    future_msg *f = malloc((nf ? nf : 1) * sizeof *f);
    if (f) {
        memcpy(f, s->future, nf * sizeof *f);
        s->n_future = 0;
        s->future_bytes = 0;
        for (size_t i = 0; i < nf; i++) {
            ul_span a = {f[i].payload + f[i].len, f[i].alen};
            handle_payload(n, f[i].kind, f[i].from, f[i].payload, f[i].len,
                           f[i].has_attach ? &a : NULL);
            free(f[i].payload);
        }
        free(f);
    }
}

/* A height starts when there is something to commit: pooled txs (after a short batching
 * pause), the heartbeat interval, or a peer already working on it. */
static bool height_due(ul_node *n, uint64_t now, uint64_t *due)
{
    ul_cons *s = C(n);
    uint64_t at = s->last_commit_ms + (uint64_t)s->cfg.heartbeat_ms;
    if (s->n_pool > 0) {
        uint64_t b = s->first_pooled_ms + BATCH_WAIT_MS;
        at = b < at ? b : at;
    }
    if (s->n_future > 0) {
        at = now;
    }
    *due = at;
    return now >= at;
}

static void keep_future(ul_node *n, uint32_t kind, const uint8_t from[UL_PUBKEY_BYTES],
                        const uint8_t *p, size_t len, const ul_span *attach)
{
    ul_cons *s = C(n);
    size_t alen = attach ? attach->len : 0;
    if (s->n_future == UL_MAX_FUTURE_MSGS || s->future_bytes + len + alen > UL_MAX_FUTURE_BYTES) {
        s->want_sync = true; /* far behind, or flooded: fetch blocks instead */
        return;
    }
    future_msg *f = &s->future[s->n_future];
    if (!(f->payload = malloc(len + alen ? len + alen : 1))) {
        return;
    }
    if (len) {
        memcpy(f->payload, p, len);
    }
    if (alen) {
        memcpy(f->payload + len, attach->ptr, alen);
    }
    f->len = len;
    f->alen = alen;
    f->has_attach = attach != NULL;
    f->kind = kind;
    memcpy(f->from, from, UL_PUBKEY_BYTES);
    s->n_future++;
    s->future_bytes += len + alen;
}

/* ---- receiving ------------------------------------------------------------------------------ */

/* A vote from any peer (maybe relayed): its own signature decides who cast it. */
static void on_vote(ul_node *n, const uint8_t from[UL_PUBKEY_BYTES], const uint8_t *p,
                    size_t len)
{
    ul_cons *s = C(n);
    ul_msg m;
    ul_span pub, vb, sig;
    ul_vote v;
    if (ul_msg_decode(&m, p, len) != UL_OK || ul_msg_get_bytes(&m, 1, &pub) != UL_OK ||
        ul_msg_get_bytes(&m, 2, &vb) != UL_OK || ul_msg_get_bytes(&m, 3, &sig) != UL_OK ||
        pub.len != UL_PUBKEY_BYTES || sig.len != UL_SIG_BYTES || vb.len > UL_MAX_VOTE_BYTES ||
        ul_schema_vote_decode(&v, vb.ptr, vb.len) != UL_OK || v.round > UL_BFT_MAX_ROUND) {
        return;
    }
    uint64_t h = next_height(n);
    if (v.height < h) {
        return;
    }
    if (v.height > h || !s->started) {
        if (v.height == h || v.height == h + 1) {
            keep_future(n, UL_PEER_VOTE, from, p, len, NULL);
        } else {
            s->want_sync = true;
        }
        return;
    }
    int32_t idx = set_index(&s->set, pub.ptr);
    if (idx < 0 || vote_find(s, (uint32_t)v.round, (uint32_t)v.type, (uint32_t)idx,
                             v.block_hash)) {
        return; /* not a validator of this height, or already held (re-sends are frequent) */
    }
    if (ul_sig_verify(sig.ptr, UL_DOMAIN_VOTE, ul_chain_id(n->chain), vb.ptr, vb.len,
                      pub.ptr) != UL_OK) {
        return;
    }
    if (!vote_hold(s, &v, (uint32_t)idx, vb.ptr, vb.len, sig.ptr)) {
        return;
    }
    ul_err e = ul_bft_on_vote(&s->bft, &s->acts, (uint32_t)idx, (uint32_t)v.type, v.height,
                              (uint32_t)v.round, is_zero(v.block_hash) ? NULL : v.block_hash);
    if (e == UL_OK) {
        drain(n);
    }
}

static void on_proposal(ul_node *n, const uint8_t from[UL_PUBKEY_BYTES], const uint8_t *p,
                        size_t len, const ul_span *attach)
{
    ul_cons *s = C(n);
    ul_msg m;
    uint64_t height, round, vr = 0;
    ul_span signed_header, block, lc = {NULL, 0};
    if (!attach || ul_msg_decode(&m, p, len) != UL_OK || ul_msg_get_uint(&m, 1, &height) != UL_OK ||
        ul_msg_get_uint(&m, 2, &round) != UL_OK ||
        ul_msg_get_bytes(&m, 4, &signed_header) != UL_OK || round > UL_BFT_MAX_ROUND) {
        return;
    }
    block = *attach;
    bool has_vr = ul_msg_get_uint(&m, 3, &vr) == UL_OK;
    if ((has_vr && vr >= round) || (ul_msg_get_bytes(&m, 5, &lc) != UL_OK && height > 1)) {
        return;
    }
    uint64_t h = next_height(n);
    if (height < h) {
        return;
    }
    if (height > h || !s->started) {
        if (height == h || height == h + 1) {
            keep_future(n, UL_PEER_PROPOSAL, from, p, len, attach);
        } else {
            s->want_sync = true;
        }
        return;
    }
    int32_t idx = set_index(&s->set, from);
    if (idx < 0 || ul_bft_proposer(&s->bft, (uint32_t)round) != (uint32_t)idx) {
        return; /* only the round's proposer proposes */
    }
    held_prop *again = prop_find(s, NULL, (int64_t)round);
    if (again && again->blen == block.len && memcmp(again->block, block.ptr, block.len) == 0) {
        return; /* a re-send of what we hold: no need to decode megabytes again */
    }
    /* The signed header names the block; the attached block must carry that header, and its
     * txs must make the header's tx root (prepare_prop checks before executing any). */
    uint8_t hash[UL_HASH_BYTES];
    ul_span header;
    ul_err e = ul_schema_block_header(&header, block.ptr, block.len);
    if (e != UL_OK || header.len != signed_header.len ||
        memcmp(header.ptr, signed_header.ptr, header.len) != 0) {
        return;
    }
    ul_client_sha256(hash, header.ptr, header.len);
    held_prop *same = prop_find(s, hash, (int64_t)round);
    if (same || prop_find(s, NULL, (int64_t)round)) {
        if (!same) { /* a second block for one round: the core reports it */
            feed_proposal(n, (uint32_t)idx, (uint32_t)round, hash, has_vr ? (int32_t)vr : -1,
                          false);
        }
        return;
    }
    held_prop *hp = prop_hold(s, (uint32_t)round, has_vr ? (int32_t)vr : -1, hash, block, lc);
    if (!hp) {
        return;
    }
    e = prepare_prop(n, hp);
    if (e == UL_E_TX_ROOT) { /* not the proposer's block: someone swapped the attachment */
        prop_unhold(s, hp);
        return;
    }
    if (e != UL_OK) {
        ul_node_log("proposal for block %llu round %llu from validator %d refused: %s (%s)",
                    (unsigned long long)height, (unsigned long long)round, idx, ul_err_str(e),
                    ul_err_name(e));
    }
    feed_proposal(n, (uint32_t)idx, (uint32_t)round, hash, has_vr ? (int32_t)vr : -1,
                  e == UL_OK);
}

/* Gossiped txs: the signed payload lists their leaf hashes, the attachment carries them. Each
 * must hash to its entry before its signatures are checked; at the first that does not (not
 * what the peer sent), the rest are dropped. */
static void on_txs(ul_node *n, const uint8_t *p, size_t len, const ul_span *attach)
{
    ul_msg m, a;
    ul_span leaves, arr, tx;
    size_t count;
    if (!attach || ul_msg_decode(&m, p, len) != UL_OK ||
        ul_msg_get_bytes(&m, 1, &leaves) != UL_OK ||
        ul_msg_decode(&a, attach->ptr, attach->len) != UL_OK ||
        ul_msg_get_list(&a, 1, &arr, &count) != UL_OK || leaves.len != count * UL_HASH_BYTES) {
        return;
    }
    for (size_t i = 0; ul_msg_list_next(&arr, &tx); i++) {
        uint8_t id[UL_HASH_BYTES], leaf[UL_HASH_BYTES];
        ul_client_merkle_leaf_hash(leaf, tx.ptr, tx.len);
        if (memcmp(leaf, leaves.ptr + i * UL_HASH_BYTES, UL_HASH_BYTES) != 0) {
            return;
        }
        (void)take_tx(n, tx.ptr, tx.len, leaf, id, false); /* invalid ones are simply not pooled */
    }
}

/* A validator's head: a claim, which steers block sync only while the claimer serves it
 * (p2p/claims.c); ul_cons_step decides whether we are behind. */
static void on_status(ul_node *n, const uint8_t from[UL_PUBKEY_BYTES], const uint8_t *p,
                      size_t len)
{
    ul_msg m;
    uint64_t h;
    int32_t idx = set_index(&C(n)->set, from);
    if (idx >= 0 && ul_msg_decode(&m, p, len) == UL_OK && ul_msg_get_uint(&m, 1, &h) == UL_OK) {
        ul_claims_hear(&C(n)->claims, (size_t)idx, h, ul_node_now_ms());
    }
}

static void handle_payload(ul_node *n, uint32_t kind, const uint8_t from[UL_PUBKEY_BYTES],
                           const uint8_t *p, size_t len, const ul_span *attach)
{
    switch (kind) {
    case UL_PEER_PROPOSAL:
        on_proposal(n, from, p, len, attach);
        break;
    case UL_PEER_VOTE:
        on_vote(n, from, p, len);
        break;
    case UL_PEER_TXS:
        on_txs(n, p, len, attach);
        break;
    case UL_PEER_STATUS:
        on_status(n, from, p, len);
        break;
    default:
        break;
    }
}

void ul_cons_on_peer(ul_node *n)
{
    ul_cons *s = C(n);
    uint64_t until = ul_node_now_ms() + UL_NODE_TURN_MS;
    for (int i = 0; s->peer && i < UL_PEER_RECV_BATCH && ul_node_now_ms() < until; i++) {
        uint32_t kind;
        uint8_t from[UL_PUBKEY_BYTES];
        ul_span payload, attach;
        if (ul_peer_recv(s->peer, &kind, from, &payload) != UL_OK) {
            break;
        }
        bool has = ul_peer_attachment(s->peer, &attach);
        handle_payload(n, kind, from, payload.ptr, payload.len, has ? &attach : NULL);
    }
}

/* ---- block sync ----------------------------------------------------------------------------- */

static ul_err sync_call(ul_node *n, size_t peer, const ul_msg *req, ul_msg *rep, uint8_t **buf,
                        int timeout_ms)
{
    ul_cons *s = C(n);
    ul_err e;
    if (s->sync_sock[peer] < 0 &&
        (e = ul_p2p_connect(&s->sync_sock[peer], s->cfg.peer_rpc[peer], timeout_ms)) != UL_OK) {
        return e;
    }
    if ((e = ul_p2p_set_timeout(s->sync_sock[peer], timeout_ms)) == UL_OK) {
        e = ul_p2p_call(s->sync_sock[peer], req, rep, buf);
    }
    if (e == UL_E_TIMEOUT || e == UL_E_NET || e == UL_E_PROTOCOL) {
        ul_p2p_close(s->sync_sock[peer]); /* a REQ socket stuck on a lost reply is reopened */
        s->sync_sock[peer] = -1;
        s->sync_retry[peer] = ul_node_now_ms() + SYNC_BACKOFF_MS;
    }
    return e;
}

/* Fetches and applies blocks from one peer until we reach its head or the budget runs out.
 * The first block asked is our own head: the peer's commit for it is the one the next header's
 * time was computed from, which we adopt. Every block is executed and its commit verified. */
static ul_err sync_from(ul_node *n, size_t peer, uint64_t until, uint64_t deadline)
{
    while (ul_chain_height(n->chain) < until && ul_node_now_ms() < deadline) {
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
        for (uint64_t h = from; e == UL_OK && ul_msg_list_next(&blocks, &bi) &&
                                ul_msg_list_next(&commits, &ci);
             h++) {
            if (h == ul_chain_height(n->chain)) {
                e = ul_chain_replace_commit(n->chain, ci.ptr, ci.len);
            } else {
                e = ul_chain_apply(n->chain, bi.ptr, bi.len, ci.ptr, ci.len);
                if (e == UL_OK) {
                    pool_remove_block(C(n), bi.ptr, bi.len);
                }
            }
        }
        ul_p2p_free(buf);
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

/* A node that lost its sign state learns the network's head: a sync pass in which some peer
 * answered and none is above us. Its signatures could reach one height above that head. */
static void sign_floor_learn(ul_node *n, bool answered, bool behind)
{
    ul_cons *s = C(n);
    if (!s->sign_missing || s->sign_floor_known || !answered || behind) {
        return;
    }
    s->sign_floor_known = true;
    s->sign_floor = ul_chain_height(n->chain) + 1;
    ul_node_log("sign state: caught up with the network at height %llu; signing from height %llu "
                "on (this key may have signed up to height %llu before it lost its sign state)",
                (unsigned long long)ul_chain_height(n->chain),
                (unsigned long long)s->sign_floor + 1, (unsigned long long)s->sign_floor);
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
        if (ul_node_now_ms() >= deadline) {
            return false;
        }
        ul_q_status_reply st;
        ul_q_status_req(&req);
        ul_err e = sync_call(n, i, &req, &rep, &buf, SYNC_PROBE_MS);
        if (e == UL_OK && (e = ul_q_status_reply_read(&rep, &st)) == UL_OK) {
            their = st.height;
        }
        ul_p2p_free(buf);
        *answered = *answered || e == UL_OK;
        if (e != UL_OK) {
            continue;
        }
        ul_claims_hear(&s->rpc_claims, i, their, ul_node_now_ms());
        if (their <= ul_chain_height(n->chain)) {
            continue;
        }
        e = sync_from(n, i, their, deadline);
        *behind = *behind || ul_chain_height(n->chain) < their;
        if (e != UL_OK) {
            ul_node_log("block sync from %s stopped at height %llu: %s (%s)", s->cfg.peer_rpc[i],
                        (unsigned long long)ul_chain_height(n->chain), ul_err_str(e),
                        ul_err_name(e));
        }
    }
    return true;
}

/* A whole pass that gained nothing counts against every claim above us (ul_claims_pass). */
static void judge_claims(ul_node *n, uint64_t before, uint64_t now)
{
    ul_cons *s = C(n);
    uint64_t after = ul_chain_height(n->chain);
    uint64_t v = ul_claims_pass(&s->claims, before, after, now);
    uint64_t r = ul_claims_pass(&s->rpc_claims, before, after, now);
    for (size_t i = 0; i < UL_MAX_PEERS; i++) {
        if ((v >> i & 1) || (r >> i & 1)) {
            char who[2 * 8 + 1];
            memcpy(who, "?", 2);
            if ((v >> i & 1) && i < s->set.n) {
                ul_hex_encode(who, s->set.v[i].pubkey, 8);
            }
            ul_node_log("block sync: %s %s%s claimed a head above %llu and served no block in %d "
                        "passes; its claims are set aside for %d s (%llu times so far)",
                        v >> i & 1 ? "validator" : "peer", v >> i & 1 ? who : s->cfg.peer_rpc[i],
                        v >> i & 1 ? "…" : "", (unsigned long long)after, UL_CLAIM_MAX_STRIKES,
                        UL_CLAIM_IGNORE_MS / 1000,
                        (unsigned long long)(s->claims.set_aside + s->rpc_claims.set_aside));
        }
    }
}

static void sync_now(ul_node *n, uint64_t now)
{
    ul_cons *s = C(n);
    uint64_t before = ul_chain_height(n->chain), deadline = now + SYNC_BUDGET_MS;
    bool answered = false, behind = false;
    ul_chain_discard(n->chain);
    pool_unmark_pending(s);
    bool whole = sync_pass(n, now, deadline, &answered, &behind);
    if (ul_chain_height(n->chain) != before) {
        if (n->verbose || ul_chain_height(n->chain) - before > 1 || s->cfg.observer == false) {
            ul_node_log("synced blocks %llu..%llu from peers", (unsigned long long)before + 1,
                        (unsigned long long)ul_chain_height(n->chain));
        }
        height_reset(s);
        s->last_commit_ms = ul_node_now_ms();
        (void)load_set(n);
    }
    if (whole || ul_chain_height(n->chain) != before) {
        judge_claims(n, before, ul_node_now_ms());
    }
    s->want_sync = ul_chain_height(n->chain) != before; /* keep going while it moves */
    sign_floor_learn(n, answered, behind || s->want_sync || !whole);
}

/* ---- the loop's entry points ---------------------------------------------------------------- */

static void expire_timers(ul_node *n, uint64_t now)
{
    ul_cons *s = C(n);
    for (size_t i = 0; i < s->n_timers;) {
        timer t = s->timers[i];
        if (t.due > now) {
            i++;
            continue;
        }
        s->timers[i] = s->timers[--s->n_timers];
        if (s->started && t.height == next_height(n) &&
            ul_bft_on_timeout(&s->bft, &s->acts, t.kind, t.height, t.round) == UL_OK) {
            drain(n);
        }
    }
}

/* Re-sends our proposal of the current round and every vote held for the current round and
 * for the valid round (the proof of lock a peer may have lost). */
static void resend(ul_node *n)
{
    ul_cons *s = C(n);
    uint32_t r = ul_bft_round_now(&s->bft);
    int32_t vr = ul_bft_valid_round(&s->bft);
    held_prop *p = prop_find(s, NULL, r);
    if (p && s->self >= 0 && ul_bft_proposer(&s->bft, r) == (uint32_t)s->self &&
        ++s->resends % RESEND_PROPOSAL_EVERY == 0) {
        send_proposal(n, p, r, p->vr);
    }
    for (size_t i = 0; i < s->n_votes; i++) {
        if (s->votes[i].round == r || (vr >= 0 && s->votes[i].round == (uint32_t)vr)) {
            send_vote(n, &s->votes[i]);
        }
    }
}

/* Signs the txs' leaf hashes (kept in the pool) and attaches the txs themselves. */
static void send_txs(ul_node *n, const ul_span *items, const uint8_t *leaves, size_t k)
{
    ul_msg m, a;
    ul_msg_init(&a);
    ul_msg_list(&a, 1, items, k);
    size_t cap = ul_msg_encoded_max(&a), len;
    uint8_t *buf = malloc(cap);
    if (!buf || ul_msg_encode(buf, cap, &len, &a) != UL_OK) {
        free(buf);
        return;
    }
    ul_span attach = {buf, len};
    ul_msg_init(&m);
    ul_msg_bytes(&m, 1, leaves, k * UL_HASH_BYTES);
    send_msg(n, UL_PEER_TXS, &m, &attach);
    free(buf);
}

static void gossip_txs(ul_node *n)
{
    ul_cons *s = C(n);
    ul_span *items = NULL;
    uint8_t(*leaves)[UL_HASH_BYTES] = NULL;
    size_t k = 0, bytes = 0;
    for (size_t i = 0; s->peer && s->n_gossip > 0 && i < s->n_pool; i++) {
        pooled *p = &s->pool[i];
        if (!p->gossip) {
            continue;
        }
        s->n_gossip--;
        if (!items && (!(items = malloc(GOSSIP_MAX_TXS * sizeof *items)) ||
                       !(leaves = malloc(GOSSIP_MAX_TXS * sizeof *leaves)))) {
            free(items);
            return;
        }
        p->gossip = false;
        memcpy(leaves[k], p->leaf, UL_HASH_BYTES);
        items[k++] = (ul_span){p->tx, p->len};
        bytes += p->len + UL_HASH_BYTES + 8;
        if (k == GOSSIP_MAX_TXS || bytes + UL_MAX_TX_BYTES + 64 > UL_MAX_PEER_PAYLOAD) {
            send_txs(n, items, leaves[0], k);
            k = 0, bytes = 0;
        }
    }
    if (k) {
        send_txs(n, items, leaves[0], k);
    }
    free(items);
    free(leaves);
}

static void at_most(long *next, uint64_t now, uint64_t due)
{
    long d = due > now ? (long)(due - now) : 0;
    *next = d < *next ? d : *next;
}

/* After the store takes writes again: commits the block decided meanwhile, or, when a failed
 * write landed after all (the head moved), moves on from it as after a commit. */
static void unstall(ul_node *n, uint64_t before)
{
    ul_cons *s = C(n);
    ul_bft_action a = s->stalled_commit;
    s->stalled_commit.kind = 0;
    s->stalled = UL_OK;
    pool_unmark_pending(s); /* the recovery discarded the pending block */
    ul_node_log("the store takes writes again at height %llu; %zu transactions pooled",
                (unsigned long long)ul_chain_height(n->chain), s->n_pool);
    bool landed = ul_chain_height(n->chain) != before;
    uint64_t signed_by = 0; /* precommits really signed: the core counted ours regardless */
    for (uint32_t i = 0; a.kind == UL_BFT_ACT_COMMIT && i < s->set.n; i++) {
        signed_by |= (uint64_t)(vote_find(s, a.round, UL_VOTE_PRECOMMIT, i, a.value) != NULL) << i;
    }
    if (a.kind == UL_BFT_ACT_COMMIT && !landed && a.height == next_height(n) &&
        ul_bft_quorum(&s->set, signed_by)) {
        act_commit(n, &a);
        if (ul_chain_height(n->chain) != before) {
            return;
        }
    }
    if (landed) {
        held_prop *p = a.kind == UL_BFT_ACT_COMMIT ? prop_find(s, a.value, -1) : NULL;
        if (p) {
            pool_remove_block(s, p->block, p->blen);
        }
        s->last_commit_ms = ul_node_now_ms();
        (void)load_set(n);
    }
    /* The core counted this node's votes when it asked for them, signed or not: the height
     * starts again, one round above the last signature recorded (begin_height). */
    height_reset(s);
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
        ul_node_log("%s (%s): %s; no blocks until the store takes writes again (%zu transactions "
                    "kept in the pool; retried every %d ms)",
                    ul_err_str(fault), ul_err_name(fault), text, s->n_pool, STALL_RETRY_MS);
    }
    if (now >= s->next_recover) {
        uint64_t before = ul_chain_height(n->chain);
        s->next_recover = now + STALL_RETRY_MS;
        if (ul_chain_recover(n->chain) == UL_OK) {
            unstall(n, before);
            return false;
        }
    }
    at_most(next_ms, now, s->next_recover);
    return true;
}

void ul_cons_step(ul_node *n, uint64_t now, long *next_ms)
{
    ul_cons *s = C(n);
    *next_ms = 1000;
    gossip_txs(n);
    if (stall_step(n, now, next_ms)) {
        return;
    }
    /* Behind: a peer is two blocks ahead, or one ahead while we have not committed for a
     * round's time (one block behind is normal for a moment after every commit). */
    uint64_t mine = ul_chain_height(n->chain), claimed = ul_claims_max(&s->claims, now);
    if (claimed > mine + 1 ||
        (claimed > mine && now > s->last_commit_ms + (uint64_t)s->cfg.round_timeout_ms)) {
        s->want_sync = true;
    }
    /* A node that lost its sign state polls its peers until it knows the network's head. */
    bool learning = s->sign_missing && !s->sign_floor_known;
    if (s->cfg.n_peers && (s->cfg.observer || s->want_sync || learning) && now >= s->next_sync) {
        sync_now(n, now);
        s->next_sync = now + (s->want_sync ? 0 : SYNC_POLL_MS);
        now = ul_node_now_ms();
    }
    if (learning) {
        at_most(next_ms, now, s->next_sync);
    }
    if (s->cfg.n_peers && s->cfg.observer) {
        at_most(next_ms, now, s->next_sync);
        return;
    }
    uint64_t due;
    if (s->alone) {
        return;
    }
    if (!s->started && height_due(n, now, &due)) {
        start_height(n);
    } else if (!s->started) {
        at_most(next_ms, now, due);
    }
    expire_timers(n, now);
    if (s->started && now >= s->next_resend) {
        resend(n);
        s->next_resend = now + RESEND_MS;
    }
    if (s->peer && now >= s->next_status) {
        send_status(n);
        s->next_status = now + STATUS_MS;
    }
    if (s->started) {
        at_most(next_ms, now, s->next_resend);
    }
    for (size_t i = 0; i < s->n_timers; i++) {
        at_most(next_ms, now, s->timers[i].due);
    }
    if (s->peer) {
        at_most(next_ms, now, s->next_status);
        (void)ul_peer_flush(s->peer); /* what waited for a busy connection goes out in order */
        if (ul_peer_queued(s->peer) > 0) {
            at_most(next_ms, now, now + FLUSH_MS);
        }
    }
    if (!s->started && height_due(n, now, &due)) {
        *next_ms = 0; /* the commit just made leaves work queued */
    }
}

ul_err ul_cons_submit(ul_node *n, const uint8_t *tx, size_t len, uint8_t id32[UL_HASH_BYTES])
{
    ul_cons *s = C(n);
    if (s->alone) {
        return s->alone;
    }
    if (s->cfg.observer || s->self < 0) {
        return UL_E_READ_ONLY;
    }
    return take_tx(n, tx, len, NULL, id32, true);
}

ul_err ul_cons_tx_status(ul_node *n, const uint8_t id32[UL_HASH_BYTES], uint64_t *height)
{
    ul_cons *s = C(n);
    ul_err e = ul_chain_tx_status(n->chain, id32, height);
    if (e == UL_OK && *height > 0) {
        return UL_OK;
    }
    for (size_t i = 0; i < s->n_pool; i++) {
        if (memcmp(s->pool[i].id, id32, UL_HASH_BYTES) == 0) {
            *height = 0;
            return UL_OK;
        }
    }
    for (size_t i = 0; i < s->n_rejected; i++) {
        if (memcmp(s->rejected[i].id, id32, UL_HASH_BYTES) == 0) {
            return s->rejected[i].e;
        }
    }
    return UL_E_NOT_FOUND;
}

void ul_cons_figures(const ul_node *n, uint64_t *pooled_n, uint64_t *round, ul_peer_stats *peers)
{
    const ul_cons *s = C(n);
    *pooled_n = s->n_pool;
    *round = s->started ? ul_bft_round_now(&s->bft) : 0;
    memset(peers, 0, sizeof *peers);
    if (s->peer) {
        ul_peer_stats_get(s->peer, peers);
    }
}

bool ul_cons_sign_status(const ul_node *n, uint64_t last[4], ul_err *refusing, uint64_t *until)
{
    const ul_cons *s = C(n);
    if (!n->key || s->cfg.observer) {
        return false;
    }
    last[0] = s->sign.height, last[1] = s->sign.round, last[2] = s->sign.step;
    last[3] = s->signed_count;
    *refusing = s->sign_missing ? UL_E_SIGN_STATE : UL_OK;
    *until = s->sign_missing && s->sign_floor_known ? s->sign_floor : 0;
    return true;
}

ul_err ul_cons_sign_fault(const ul_node *n, const char **text)
{
    const ul_cons *s = C(n);
    *text = s->sign_fault_text;
    return s->sign_fault;
}

void ul_cons_sync_status(const ul_node *n, uint64_t *target, uint64_t *ignored)
{
    const ul_cons *s = C(n);
    uint64_t now = ul_node_now_ms(), a = ul_claims_max(&s->claims, now),
             b = ul_claims_max(&s->rpc_claims, now);
    *target = a > b ? a : b;
    *ignored = s->claims.set_aside + s->rpc_claims.set_aside;
}

void ul_cons_finish(ul_node *n)
{
    ul_cons *s = C(n);
    /* A lone validator decides alone, synchronously: what it pooled is committed before it
     * stops. With peers the pool waits for the next start (clients see it not committed). */
    if (!s->cfg.n_peers && s->self >= 0 && !s->alone && s->n_pool > 0) {
        for (int i = 0; i < 4 && s->n_pool > 0; i++) {
            if (!s->started) {
                start_height(n);
            }
        }
    }
    if (s->n_pool > 0) { /* the pool lives in memory only: say what a restart loses */
        ul_node_log("stopping with %zu transactions pooled, not committed%s%s: they are not kept "
                    "across a restart (their clients see them not committed and resubmit)",
                    s->n_pool, s->stalled ? ": " : "", s->stalled ? ul_err_str(s->stalled) : "");
    }
}

int ul_cons_socket(const ul_node *n) { return C(n)->peer ? ul_peer_socket(C(n)->peer) : -1; }

ul_err ul_cons_open(ul_node *n, const ul_node_cfg *cfg, ul_peer *peer)
{
    ul_cons *s = calloc(1, sizeof *s);
    if (!s) {
        ul_peer_close(peer);
        return UL_E_NOMEM;
    }
    n->cons = s;
    s->peer = peer;
    s->cfg = *cfg;
    s->index_cap = 2 * (size_t)UL_MAX_MEMPOOL; /* a power of two, at most half full */
    s->votes = malloc(UL_MAX_HELD_VOTES * sizeof *s->votes);
    s->pool = malloc(UL_MAX_MEMPOOL * sizeof *s->pool);
    s->index = calloc(s->index_cap, sizeof *s->index);
    s->bindex = calloc(s->index_cap, sizeof *s->bindex);
    if (!s->votes || !s->pool || !s->index || !s->bindex) {
        return UL_E_NOMEM;
    }
    randombytes_buf(s->bytes_key, sizeof s->bytes_key);
    ul_claims_init(&s->claims);
    ul_claims_init(&s->rpc_claims);
    for (size_t i = 0; i < UL_MAX_PEERS; i++) {
        s->sync_sock[i] = -1;
    }
    /* Vote timeouts: half the propose timeout; each round adds half again (paper, section 3). */
    uint64_t t = (uint64_t)cfg->round_timeout_ms;
    ul_bft_config bc = {.base_ms = {t, t / 2 + 1, t / 2 + 1}, .delta_ms = {t / 2, t / 2, t / 2}};
    ul_err e = ul_bft_init(&s->bft, &bc);
    if (e != UL_OK) {
        return e;
    }
    if ((e = sign_open(n)) != UL_OK) {
        return e;
    }
    s->last_commit_ms = ul_node_now_ms();
    s->want_sync = cfg->n_peers > 0; /* a node that was down catches up before it votes */
    return load_set(n);
}

void ul_cons_close(ul_node *n)
{
    ul_cons *s = n ? C(n) : NULL;
    if (!s) {
        return;
    }
    height_reset(s);
    for (size_t i = 0; i < s->n_future; i++) {
        free(s->future[i].payload);
    }
    for (size_t i = 0; i < s->n_pool; i++) {
        free(s->pool[i].tx);
    }
    for (size_t i = 0; i < UL_MAX_PEERS; i++) {
        if (s->sync_sock[i] >= 0) {
            ul_p2p_close(s->sync_sock[i]);
        }
    }
    ul_peer_close(s->peer);
    free(s->votes);
    free(s->pool);
    free(s->index);
    free(s->bindex);
    free(s);
    n->cons = NULL;
}
